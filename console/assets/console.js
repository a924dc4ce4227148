// Yiku console: progressive enhancement only; every page works without it.
// - checks an ID number (GB 11643) or credit code (GB 32100) as it is typed
//   (the hub checks it again on the server);
// - in the lookup form, offers only the chosen service item's purposes;
// - the receipt's print button.
(function () {
  "use strict";

  function idNumberOK(s) {
    if (!/^\d{17}[\dX]$/.test(s)) return false;
    var w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], sum = 0;
    for (var i = 0; i < 17; i++) sum += (s.charCodeAt(i) - 48) * w[i];
    return "10X98765432".charAt(sum % 11) === s.charAt(17);
  }

  var USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  function creditCodeOK(s) {
    if (!/^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$/.test(s)) return false;
    var w = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], sum = 0;
    for (var i = 0; i < 17; i++) sum += USCC.indexOf(s.charAt(i)) * w[i];
    var c = (31 - (sum % 31)) % 31;
    return USCC.charAt(c) === s.charAt(17);
  }

  function subjectOK(s) {
    s = s.replace(/\s+/g, "").toUpperCase();
    return idNumberOK(s) || creditCodeOK(s);
  }

  document.querySelectorAll("input[data-check=subject]").forEach(function (input) {
    var err = document.getElementById(input.id + "-error");
    function check() {
      var v = input.value.trim();
      var bad = v !== "" && v.replace(/\s+/g, "").length >= 18 && !subjectOK(v);
      input.setAttribute("aria-invalid", bad ? "true" : "false");
      if (err && err.dataset.msgBad) err.textContent = bad ? err.dataset.msgBad : "";
    }
    input.addEventListener("input", check);
    input.addEventListener("blur", check);
  });

  var item = document.getElementById("service_item"), purpose = document.getElementById("purpose");
  if (item && purpose) {
    var sync = function () {
      purpose.querySelectorAll("optgroup").forEach(function (g) {
        var on = item.value === "" || g.dataset.item === item.value;
        g.hidden = !on;
        g.disabled = !on;
      });
      var sel = purpose.selectedOptions[0];
      if (sel && sel.parentNode.disabled) purpose.value = "";
      if (item.value !== "" && purpose.value === "") {
        var first = purpose.querySelector("optgroup[data-item='" + CSS.escape(item.value) + "'] option");
        if (first) purpose.value = first.value;
      }
    };
    item.addEventListener("change", sync);
    sync();
  }

  document.querySelectorAll(".print-button").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
})();
