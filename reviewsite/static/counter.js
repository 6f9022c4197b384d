/* A live character count for fields with a limit: <textarea data-limit="5000" aria-describedby="x-counter">
   and <p class="counter" id="x-counter">. The count is the one the server applies (characters, a
   line break counts once), and the field is never cut short: text over the limit stays for the
   writer to shorten, and the server refuses it with the same numbers. Screen readers hear the
   count only when it crosses the limit, not at every keystroke. */
(function () {
  "use strict";

  var number = new Intl.NumberFormat("en-GB");

  function length(value) {
    return Array.from(value.replace(/\r\n/g, "\n").trim()).length;
  }

  function attach(field) {
    var limit = parseInt(field.getAttribute("data-limit"), 10);
    var counter = document.getElementById(field.id + "-counter");
    if (!limit || !counter) {
      return;
    }
    var visible = document.createElement("span");
    visible.setAttribute("aria-hidden", "true");
    var spoken = document.createElement("span");
    spoken.className = "visually-hidden";
    spoken.setAttribute("aria-live", "polite");
    counter.textContent = "";
    counter.appendChild(visible);
    counter.appendChild(spoken);
    var wasOver = null;

    function update() {
      var used = length(field.value);
      var over = used > limit;
      var text = number.format(used) + " of " + number.format(limit) + " characters";
      if (over) {
        text += ": " + number.format(used - limit) + " too many";
      }
      visible.textContent = text;
      counter.classList.toggle("counter-over", over);
      if (over !== wasOver) {
        if (wasOver !== null) {
          spoken.textContent = over ? text + ". Shorten it before sending." : "Within the limit again.";
        }
        wasOver = over;
      }
    }

    field.addEventListener("input", update);
    update();
  }

  function start() {
    document.querySelectorAll("[data-limit]").forEach(attach);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
