// Bulk confirmation of hours: a "select all" box in the table's head ticks or clears every row's box of its form.
// Without JavaScript the box stays hidden and each row is ticked by hand.
(function () {
  "use strict";
  var boxes = document.querySelectorAll("input[data-select-all]");
  Array.prototype.forEach.call(boxes, function (all) {
    var form = all.form;
    if (!form) { return; }
    var name = all.getAttribute("data-select-all");
    function rows() { return form.querySelectorAll('input[type="checkbox"][name="' + name + '"]'); }
    if (!rows().length) { return; }
    all.hidden = false;
    // On a phone the table's head is folded away but for this box, which then needs its words beside it.
    var label = all.id ? document.querySelector('label[for="' + all.id + '"]') : null;
    if (label) { label.hidden = false; }
    function sync() {
      var list = rows(), ticked = 0;
      Array.prototype.forEach.call(list, function (row) { if (row.checked) { ticked += 1; } });
      all.checked = ticked === list.length;
      all.indeterminate = ticked > 0 && ticked < list.length;
    }
    all.addEventListener("change", function () {
      Array.prototype.forEach.call(rows(), function (row) { row.checked = all.checked; });
      all.indeterminate = false;
    });
    Array.prototype.forEach.call(rows(), function (row) { row.addEventListener("change", sync); });
    sync();
  });
})();
