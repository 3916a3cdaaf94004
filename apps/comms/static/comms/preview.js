// Choosing a work order shows its preview at once. A file, not an onchange attribute: the
// Content-Security-Policy allows no inline script.
document.addEventListener("DOMContentLoaded", function () {
  var select = document.getElementById("id_work_order");
  if (select) {
    select.addEventListener("change", function () {
      select.form.submit();
    });
  }
});
