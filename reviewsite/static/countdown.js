/* Live countdown for <time data-countdown datetime="ISO8601">.
   Progressive enhancement: without JavaScript the element keeps showing the absolute date. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function format(ms) {
    if (ms <= 0) {
      return "publishing now\u2026";
    }
    var total = Math.floor(ms / 1000);
    var days = Math.floor(total / 86400);
    var hours = Math.floor((total % 86400) / 3600);
    var minutes = Math.floor((total % 3600) / 60);
    var seconds = total % 60;
    var parts = [];
    if (days > 0) {
      parts.push(days + " d");
    }
    parts.push(pad(hours) + " h", pad(minutes) + " min", pad(seconds) + " s");
    return parts.join(" ") + " left";
  }

  function start() {
    var nodes = Array.prototype.slice.call(document.querySelectorAll("time[data-countdown]"));
    var items = [];
    nodes.forEach(function (node) {
      var target = Date.parse(node.getAttribute("datetime"));
      if (isNaN(target)) {
        return;
      }
      if (!node.title) {
        node.title = node.textContent;
      }
      items.push({ node: node, target: target });
    });
    if (!items.length) {
      return;
    }
    function tick() {
      var now = Date.now();
      items.forEach(function (item) {
        var text = format(item.target - now);
        if (item.node.textContent !== text) {
          item.node.textContent = text;
        }
      });
    }
    tick();
    // Align ticks with the second boundary so all countdowns change together.
    setTimeout(function () {
      tick();
      setInterval(tick, 1000);
    }, 1000 - (Date.now() % 1000));
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
