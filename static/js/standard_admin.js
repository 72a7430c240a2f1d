// The standard's admin form: a non-negotiable standard's target is 100 %, so ticking the box
// shows it at once. The form sets it on the server as well, so this is only a convenience.
(function () {
  "use strict";
  function follow(box, target) {
    if (box.checked) {
      target.value = "100";
    }
    target.readOnly = box.checked;
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("id_non_negotiable");
    var target = document.getElementById("id_target_rate");
    if (!box || !target) {
      return;
    }
    follow(box, target);
    box.addEventListener("change", function () {
      follow(box, target);
    });
  });
})();
