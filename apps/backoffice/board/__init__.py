"""The dispatch board: one day, one row per technician, jobs moved by drag and drop."""
