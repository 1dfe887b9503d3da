/* Sortable tables, as a progressive enhancement: the tables are complete and readable without it.
 *
 * Every <table data-sortable> gets a <button> in each column header of its <thead>. Pressing it
 * (mouse, Enter or Space) sorts the body rows by that column, ascending then descending, and sets
 * aria-sort on the header so that screen readers announce the order. Cells may carry data-sort
 * with the value to sort by (numbers are compared as numbers); a cell spanning several columns
 * (a suppressed figure) has no value and always goes last.
 */
(function () {
  "use strict";

  function cellAt(row, index) {
    var column = 0;
    for (var i = 0; i < row.cells.length; i += 1) {
      var cell = row.cells[i];
      var span = cell.colSpan || 1;
      if (index < column + span) {
        return span > 1 ? null : cell;
      }
      column += span;
    }
    return null;
  }

  function sortKey(cell) {
    if (!cell) {
      return null;
    }
    var value = cell.getAttribute("data-sort");
    if (value === null) {
      return cell.textContent.replace(/\s+/g, " ").trim();
    }
    if (value === "" || value === "None") {
      return null;
    }
    var number = Number(value);
    return isNaN(number) ? value : number;
  }

  function compare(a, b, lang) {
    if (typeof a === "number" && typeof b === "number") {
      return a - b;
    }
    return String(a).localeCompare(String(b), lang, { numeric: true, sensitivity: "base" });
  }

  function sortBy(table, index, header) {
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var headers = table.tHead.rows[0].cells;
    for (var h = 0; h < headers.length; h += 1) {
      headers[h].removeAttribute("aria-sort");
    }
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var lang = document.documentElement.lang || "vi";
    var body = table.tBodies[0];
    var rows = Array.prototype.map.call(body.rows, function (row, position) {
      return { row: row, position: position, key: sortKey(cellAt(row, index)) };
    });
    rows.sort(function (x, y) {
      if (x.key === null || y.key === null) {
        return (x.key === null) - (y.key === null) || x.position - y.position;
      }
      var order = compare(x.key, y.key, lang);
      return (ascending ? order : -order) || x.position - y.position;
    });
    rows.forEach(function (item) {
      body.appendChild(item.row);
    });
  }

  function enhance(table) {
    if (!table.tHead || !table.tBodies.length || table.tBodies[0].rows.length < 2) {
      return;
    }
    var headers = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(headers, function (header, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort-button";
      while (header.firstChild) {
        button.appendChild(header.firstChild);
      }
      header.appendChild(button);
      button.addEventListener("click", function () {
        sortBy(table, index, header);
      });
    });
    table.classList.add("is-sortable");
  }

  Array.prototype.forEach.call(document.querySelectorAll("table[data-sortable]"), enhance);
})();
