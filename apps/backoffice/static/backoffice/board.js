/* The dispatch board: draws the day from the board's JSON, moves jobs by drag and drop or by
 * keyboard, and polls for changes made by other dispatchers and by technicians.
 * No inline script anywhere (Content-Security-Policy): data comes from json_script and data-*. */
'use strict';
(function () {
  const root = document.getElementById('dispatch-board');
  if (!root) { return; }
  const cfg = root.dataset;
  const canMove = cfg.canMove === '1';
  const POLL_MS = 5000;
  const SNAP = 15;       // minutes: drops snap to the quarter hour
  const KEY_STEP = 30;   // minutes: one arrow key press
  const LEVEL_PX = 50;   // height of one stacked job in a technician's lane
  const els = {
    rows: document.getElementById('rows'),
    axis: document.getElementById('axis'),
    queue: document.getElementById('queue'),
    queueCount: document.getElementById('queue-count'),
    message: document.getElementById('board-message'),
    updated: document.getElementById('board-updated'),
    map: document.getElementById('board-map'),
    details: document.getElementById('details-body'),
    form: document.getElementById('move-form'),
  };
  let data = JSON.parse(document.getElementById('board-data').textContent);
  let busy = false;        // a drag, a keyboard pick or a move in flight: hold the poller's redraw
  let picked = null;       // keyboard pick: {job, row, minute}
  let selectedId = null;
  let map = null;
  let mapLayer = null;
  let mapFitted = false;

  // --- helpers --------------------------------------------------------------------------------
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }
  function span() { return Math.max(60, data.axis.end - data.axis.start); }
  function pct(minute) { return ((minute - data.axis.start) / span()) * 100; }
  function hm(minute) {
    const h = Math.floor(minute / 60) % 24;
    const m = minute % 60;
    return String(h).padStart(2, '0') + ':' + String(m).padStart(2, '0');
  }
  function clock(minute) {
    const h = Math.floor(minute / 60) % 24;
    const m = String(minute % 60).padStart(2, '0');
    const suffix = h < 12 ? 'AM' : 'PM';
    return (h % 12 || 12) + ':' + m + ' ' + suffix;
  }
  function jobById(id) {
    return data.jobs.concat(data.queue).find((j) => j.id === id);
  }
  function techName(id) {
    const t = data.technicians.find((x) => x.id === id);
    return t ? t.name : 'the queue';
  }
  function say(text, kind) {
    els.message.textContent = text;
    els.message.className = 'board-message ' + (kind || '');
  }
  function csrf() {
    const input = root.querySelector('input[name=csrfmiddlewaretoken]');
    return input ? input.value : '';
  }
  function withBusiness(params) {
    if (cfg.business) { params.set('business', cfg.business); }
    return params;
  }

  // --- drawing --------------------------------------------------------------------------------
  function jobCard(job, inQueue) {
    const card = el('div', 'job status-' + job.status + ' priority-' + job.priority);
    card.dataset.id = job.id;
    card.tabIndex = 0;
    card.setAttribute('role', 'button');
    const flags = [];
    if (job.priority !== 'normal') { flags.push(job.priority_label); }
    if (job.late) { flags.push('late'); } else if (job.at_risk) { flags.push('ETA after the window'); }
    card.setAttribute('aria-label', [job.number, job.summary, job.customer, job.window,
      job.status_label].concat(flags).join(', '));
    if (job.movable && canMove) { card.draggable = true; } else { card.classList.add('locked'); }
    if (job.late) { card.classList.add('late'); }
    if (job.at_risk) { card.classList.add('at-risk'); }
    if (job.id === selectedId) { card.classList.add('selected'); }
    const top = el('div', 'job-top');
    top.appendChild(el('span', 'job-number', job.number));
    if (job.priority !== 'normal') {
      top.appendChild(el('span', 'prio prio-' + job.priority, job.priority_label));
    }
    top.appendChild(el('span', 'job-status', job.status_label));
    card.appendChild(top);
    card.appendChild(el('div', 'job-customer', job.customer));
    const meta = [inQueue ? job.window : job.summary];
    if (job.eta) { meta.push('ETA ' + job.eta); }
    if (job.late) { meta.push('Late'); }
    card.appendChild(el('div', 'job-meta', meta.join(' · ')));
    if (inQueue) { card.appendChild(el('div', 'job-meta', job.summary)); }
    card.title = job.number + ' ' + job.summary + '\n' + job.customer + '\n' + job.address +
      '\n' + job.window + (job.eta ? '\nETA ' + job.eta : '');
    return card;
  }

  function drawAxis() {
    els.axis.replaceChildren();
    els.axis.appendChild(el('div', 'axis-corner', 'Technician'));
    const scale = el('div', 'axis-scale');
    for (let m = Math.ceil(data.axis.start / 60) * 60; m < data.axis.end; m += 60) {
      const tick = el('span', 'tick', clock(m).replace(':00', ''));
      tick.style.left = pct(m) + '%';
      scale.appendChild(tick);
    }
    els.axis.appendChild(scale);
  }

  function drawRows() {
    els.rows.replaceChildren();
    data.technicians.forEach((tech) => {
      const row = el('div', 'tech-row');
      row.dataset.technician = tech.id;
      const head = el('div', 'tech-head');
      const dot = el('span', 'tech-dot');
      dot.style.background = tech.colour;
      const name = el('div', 'tech-name');
      name.append(dot, document.createTextNode(tech.name));
      head.appendChild(name);
      const sub = [tech.shift_label];
      if (tech.position) {
        sub.push(tech.position.minutes_ago <= 1 ? 'GPS now' : 'GPS ' + tech.position.minutes_ago + ' min ago');
      }
      if (!tech.active) { sub.push('inactive'); }
      head.appendChild(el('div', 'tech-sub', sub.join(' · ')));
      if (tech.late) { head.appendChild(el('span', 'late-flag', 'Running late')); }
      const lane = el('div', 'lane');
      lane.dataset.technician = tech.id;
      for (let m = Math.ceil(data.axis.start / 60) * 60; m < data.axis.end; m += 60) {
        const line = el('span', 'hour-line');
        line.style.left = pct(m) + '%';
        lane.appendChild(line);
      }
      const shift = el('div', 'shift');
      shift.style.left = pct(Math.max(tech.shift[0], data.axis.start)) + '%';
      shift.style.width = (pct(Math.min(tech.shift[1], data.axis.end)) - pct(Math.max(tech.shift[0], data.axis.start))) + '%';
      lane.appendChild(shift);
      if (data.now !== null && data.now >= data.axis.start && data.now <= data.axis.end) {
        const now = el('span', 'now-line');
        now.style.left = pct(data.now) + '%';
        lane.appendChild(now);
      }
      const mine = data.jobs.filter((j) => j.technician === tech.id && j.start !== null);
      const levels = [];
      mine.forEach((job) => {
        const card = jobCard(job, false);
        const start = Math.max(job.start, data.axis.start);
        const end = Math.min(job.end, data.axis.end);
        // Overlapping windows stack one under the other, so every job stays readable.
        let level = levels.findIndex((until) => until <= start);
        if (level === -1) { level = levels.length; levels.push(end); } else { levels[level] = end; }
        card.style.top = (4 + level * LEVEL_PX) + 'px';
        card.style.left = pct(start) + '%';
        card.style.width = 'calc(' + (pct(end) - pct(start)) + '% - 3px)';
        lane.appendChild(card);
      });
      lane.style.minHeight = (Math.max(1, levels.length) * LEVEL_PX + 8) + 'px';
      row.append(head, lane);
      els.rows.appendChild(row);
    });
    if (!data.technicians.length) {
      els.rows.appendChild(el('p', 'empty', 'No technician works this day.'));
    }
  }

  function drawQueue() {
    els.queue.replaceChildren();
    data.queue.forEach((job) => els.queue.appendChild(jobCard(job, true)));
    els.queueCount.textContent = String(data.queue.length);
    if (!data.queue.length) { els.queue.appendChild(el('p', 'empty', 'Every job has a technician.')); }
  }

  function drawMap() {
    if (!cfg.tileUrl || !window.L) {
      // The same plain SVG plot routing's review uses, drawn by the server with escaped labels.
      els.map.innerHTML = data.map_svg || '<p class="muted">No job on this day has a location yet.</p>';
      return;
    }
    if (!map) {
      map = window.L.map(els.map, { scrollWheelZoom: false });
      window.L.tileLayer(cfg.tileUrl, { maxZoom: 18, attribution: '&copy; map tiles' }).addTo(map);
      mapLayer = window.L.layerGroup().addTo(map);
    }
    mapLayer.clearLayers();
    const bounds = [];
    data.routes.forEach((route) => {
      window.L.polyline(route.points, { color: route.colour, weight: 4, opacity: 0.85 })
        .bindTooltip(route.name).addTo(mapLayer);
      route.points.slice(1, -1).forEach((point, i) => {
        window.L.circleMarker(point, { radius: 6, color: route.colour, fillColor: '#fff', fillOpacity: 1, weight: 3 })
          .bindTooltip((i + 1) + '. ' + route.stops[i]).addTo(mapLayer);
        bounds.push(point);
      });
      bounds.push(route.points[0]);
    });
    data.technicians.forEach((tech) => {
      if (!tech.position) { return; }
      const at = [tech.position.lat, tech.position.lng];
      window.L.circleMarker(at, { radius: 9, color: '#fff', weight: 3, fillColor: tech.colour, fillOpacity: 1 })
        .bindTooltip(tech.name + ' · ' + tech.position.at).addTo(mapLayer);
      bounds.push(at);
    });
    data.queue.forEach((job) => {
      if (!job.point || job.start === null) { return; }
      window.L.circleMarker(job.point, { radius: 5, color: '#6b7280', weight: 2, fillOpacity: 0.3 })
        .bindTooltip('Unassigned: ' + job.number).addTo(mapLayer);
      bounds.push(job.point);
    });
    if (bounds.length && !mapFitted) { map.fitBounds(bounds, { padding: [20, 20] }); mapFitted = true; }
  }

  function drawDetails() {
    const job = selectedId !== null ? jobById(selectedId) : null;
    if (!job) {
      els.form.hidden = true;
      return;
    }
    els.details.replaceChildren();
    const title = el('p', 'details-title');
    title.appendChild(el('strong', null, job.number + ' · ' + job.summary));
    els.details.appendChild(title);
    const list = el('dl', 'details-list');
    [['Customer', job.customer], ['Address', job.address || '—'], ['Window', job.window],
      ['Status', job.status_label], ['Priority', job.priority_label],
      ['Technician', job.technician ? techName(job.technician) : 'Not assigned'],
      ['ETA', job.eta || '—']].forEach(([k, v]) => { list.append(el('dt', null, k), el('dd', null, v)); });
    els.details.appendChild(list);
    const form = els.form;
    if (form.contains(document.activeElement) && form.elements.work_order.value === String(job.id)) {
      return; // the dispatcher is typing in the form: a refresh must not reset it
    }
    form.hidden = !(canMove && job.movable);
    form.elements.work_order.value = job.id;
    const select = form.elements.technician;
    select.replaceChildren(new Option('Nobody (back to the queue)', ''));
    data.technicians.filter((t) => t.active).forEach((t) => select.add(new Option(t.name, t.id)));
    select.value = job.technician ? String(job.technician) : '';
    form.elements.date.value = data.date;
    form.elements.start.value = job.start !== null ? hm(((job.start % 1440) + 1440) % 1440) : '08:00';
    document.getElementById('details-open').href = job.url;
    if (!form.hidden) { return; }
    const open = el('a', 'button', 'Open work order');
    open.href = job.url;
    els.details.appendChild(open);
  }

  function draw() {
    drawAxis();
    drawRows();
    drawQueue();
    drawMap();
    drawDetails();
    els.updated.textContent = 'updated ' + data.now_label;
  }

  // --- moving ---------------------------------------------------------------------------------
  async function move(jobId, technicianId, minute, day) {
    const job = jobById(jobId);
    if (!job) { return; }
    const payload = { work_order: jobId, technician: technicianId };
    if (minute !== null) { payload.date = day || data.date; payload.start = hm(minute); }
    if (cfg.business) { payload.business = Number(cfg.business); }
    busy = true;
    say('Moving ' + job.number + '…', 'pending');
    let answer = null;
    let status = 0;
    try {
      const response = await fetch(cfg.moveUrl, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf(), 'Accept': 'application/json' },
        body: JSON.stringify(payload),
      });
      status = response.status;
      answer = await response.json().catch(() => null);
    } catch (err) {
      answer = { error: 'The move did not reach the server; check the connection and try again.' };
    }
    busy = false;
    if (status === 200 && answer && answer.ok) {
      say(answer.message, 'ok');
      selectedId = jobId;
      await refresh(true);
    } else {
      const reason = (answer && answer.error) || 'The move was refused.';
      say(job.number + ' was not moved: ' + reason, 'error');
      draw(); // the job goes back where it was
    }
    // Keyboard users keep their place: focus returns to the job wherever it now is.
    const again = root.querySelector('.job[data-id="' + jobId + '"]');
    if (again && !els.form.contains(document.activeElement)) { again.focus({ preventScroll: true }); }
  }

  function laneMinute(lane, clientX) {
    const box = lane.getBoundingClientRect();
    const share = Math.min(1, Math.max(0, (clientX - box.left) / box.width));
    const minute = data.axis.start + share * span();
    return Math.round(minute / SNAP) * SNAP;
  }

  // Drag and drop (HTML5): lanes take a technician and a time, the queue takes the job back.
  root.addEventListener('dragstart', (event) => {
    const card = event.target.closest && event.target.closest('.job');
    if (!card || !canMove) { return; }
    busy = true;
    event.dataTransfer.setData('text/plain', card.dataset.id);
    event.dataTransfer.effectAllowed = 'move';
    card.classList.add('dragging');
  });
  root.addEventListener('dragend', (event) => {
    busy = false;
    const card = event.target.closest && event.target.closest('.job');
    if (card) { card.classList.remove('dragging'); }
    root.querySelectorAll('.drop-target').forEach((n) => n.classList.remove('drop-target'));
  });
  root.addEventListener('dragover', (event) => {
    const target = event.target.closest && (event.target.closest('.lane') || event.target.closest('.queue'));
    if (!target || !canMove) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = 'move';
    root.querySelectorAll('.drop-target').forEach((n) => { if (n !== target) { n.classList.remove('drop-target'); } });
    target.classList.add('drop-target');
  });
  root.addEventListener('drop', (event) => {
    const lane = event.target.closest && event.target.closest('.lane');
    const queue = event.target.closest && event.target.closest('.queue');
    if ((!lane && !queue) || !canMove) { return; }
    event.preventDefault();
    const id = Number(event.dataTransfer.getData('text/plain'));
    root.querySelectorAll('.drop-target').forEach((n) => n.classList.remove('drop-target'));
    if (!id) { return; }
    if (queue) {
      const job = jobById(id);
      if (job && job.technician !== null) { move(id, null, null); }
      return;
    }
    // The job's window starts at the time under the pointer, snapped to the quarter hour.
    selectedId = id;
    move(id, Number(lane.dataset.technician), laneMinute(lane, event.clientX), null);
  });

  // Keyboard: Enter picks a job up, arrows move it (up/down: technician, left/right: time),
  // Enter drops it, Escape puts it back.
  function targets() { return [null].concat(data.technicians.filter((t) => t.active).map((t) => t.id)); }
  function showPick() {
    root.querySelectorAll('.ghost').forEach((n) => n.remove());
    if (!picked) { return; }
    const where = picked.row === null ? 'the unassigned queue' : techName(picked.row) + ' at ' + clock(picked.minute);
    say('Moving ' + picked.job.number + ' to ' + where + '. Enter to drop, Escape to cancel.', 'pending');
    if (picked.row === null) { els.queue.classList.add('drop-target'); return; }
    els.queue.classList.remove('drop-target');
    const lane = els.rows.querySelector('.lane[data-technician="' + picked.row + '"]');
    if (!lane) { return; }
    const ghost = el('div', 'ghost', picked.job.number + ' · ' + clock(picked.minute));
    ghost.style.left = pct(picked.minute) + '%';
    ghost.style.width = (pct(picked.minute + picked.job.length) - pct(picked.minute)) + '%';
    lane.appendChild(ghost);
    lane.scrollIntoView({ block: 'nearest' });
  }
  function cancelPick(message) {
    picked = null;
    busy = false;
    showPick();
    els.queue.classList.remove('drop-target');
    if (message) { say(message, ''); }
  }
  root.addEventListener('keydown', (event) => {
    const card = event.target.closest && event.target.closest('.job');
    if (picked) {
      const rows = targets();
      let index = rows.indexOf(picked.row);
      if (event.key === 'Escape') { event.preventDefault(); cancelPick(picked.job.number + ' stays where it was.'); return; }
      if (event.key === 'ArrowUp' || event.key === 'ArrowDown') {
        event.preventDefault();
        index = Math.min(rows.length - 1, Math.max(0, index + (event.key === 'ArrowDown' ? 1 : -1)));
        picked.row = rows[index];
        showPick();
        return;
      }
      if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
        event.preventDefault();
        const step = event.key === 'ArrowRight' ? KEY_STEP : -KEY_STEP;
        picked.minute = Math.min(data.axis.end - SNAP, Math.max(data.axis.start, picked.minute + step));
        showPick();
        return;
      }
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        const { job, row, minute } = picked;
        picked = null;
        showPick();
        els.queue.classList.remove('drop-target');
        move(job.id, row, row === null ? null : minute, null);
      }
      return;
    }
    if (!card) { return; }
    const job = jobById(Number(card.dataset.id));
    if (!job) { return; }
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      selectedId = job.id;
      drawDetails();
      if (!canMove || !job.movable) { say(job.number + ' cannot be moved: it is ' + job.status_label.toLowerCase() + '.', 'error'); return; }
      busy = true;
      const firstActive = targets()[1] === undefined ? null : targets()[1];
      picked = {
        job: job,
        row: job.technician || firstActive,
        minute: job.start !== null ? job.start : Math.max(data.axis.start, 8 * 60),
      };
      showPick();
    }
  });
  root.addEventListener('click', (event) => {
    const card = event.target.closest && event.target.closest('.job');
    if (!card) { return; }
    selectedId = Number(card.dataset.id);
    root.querySelectorAll('.job.selected').forEach((n) => n.classList.remove('selected'));
    card.classList.add('selected');
    drawDetails();
  });
  els.form.addEventListener('submit', (event) => {
    event.preventDefault();
    const f = els.form.elements;
    const [h, m] = f.start.value.split(':').map(Number);
    const tech = f.technician.value ? Number(f.technician.value) : null;
    move(Number(f.work_order.value), tech, tech === null && !f.start.value ? null : h * 60 + m, f.date.value);
  });

  // --- live updates ---------------------------------------------------------------------------
  async function refresh(force) {
    const params = withBusiness(new URLSearchParams({ date: data.date }));
    try {
      const response = await fetch(cfg.dataUrl + '?' + params.toString(), {
        credentials: 'same-origin', headers: { 'Accept': 'application/json' },
      });
      if (!response.ok) { return; }
      const fresh = await response.json();
      const changed = fresh.version !== data.version;
      data = fresh;
      if (changed || force) { draw(); } else { els.updated.textContent = 'updated ' + data.now_label; }
    } catch (err) {
      els.updated.textContent = 'offline, retrying';
    }
  }
  setInterval(() => {
    if (!busy && !document.hidden) { refresh(false); }
  }, POLL_MS);
  document.addEventListener('visibilitychange', () => { if (!document.hidden && !busy) { refresh(false); } });

  draw();
})();
