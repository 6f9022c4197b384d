/* Dates in the reader's own time zone, and how far they are from now.
   The server writes every instant as <time datetime="ISO 8601"> with its text in UTC (or in the
   zone a signed-in person chose, named on <html data-time-zone>), so the page is the same for
   everyone and can be cached. This rewrites
     <time data-local>     as the date and time in the reader's zone ("5 Mar 2026, 14:00 GMT+1"),
     <time data-relative>  as words relative to now ("in 2 days", "3 hours ago"),
   and keeps the server's text as the element's title. Without JavaScript the UTC text stays. */
(function () {
  "use strict";

  var zone = document.documentElement.getAttribute("data-time-zone") || undefined;
  var absolute = null;
  var relative = null;
  try {
    absolute = new Intl.DateTimeFormat("en-GB", {
      day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
      timeZone: zone, timeZoneName: "short"
    });
  } catch (e) {
    absolute = null; // an unknown zone: keep the server's text
  }
  try {
    relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  } catch (e) {
    relative = null;
  }

  var UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
               ["hour", 3600], ["minute", 60]];

  function inWords(ms) {
    var seconds = Math.round(ms / 1000);
    var size = Math.abs(seconds);
    if (size < 60) {
      return seconds >= 0 ? "in less than a minute" : "just now";
    }
    for (var i = 0; i < UNITS.length; i++) {
      if (size >= UNITS[i][1]) {
        return relative.format(Math.round(seconds / UNITS[i][1]), UNITS[i][0]);
      }
    }
    return "";
  }

  function instant(node) {
    var value = Date.parse(node.getAttribute("datetime"));
    return isNaN(value) ? null : value;
  }

  function localise() {
    if (!absolute) {
      return;
    }
    document.querySelectorAll("time[data-local]").forEach(function (node) {
      var value = instant(node);
      if (value === null) {
        return;
      }
      if (!node.title) {
        node.title = node.textContent;
      }
      node.textContent = absolute.format(new Date(value));
    });
  }

  function relativise() {
    if (!relative) {
      return;
    }
    var now = Date.now();
    document.querySelectorAll("time[data-relative]").forEach(function (node) {
      var value = instant(node);
      if (value !== null) {
        node.textContent = inWords(value - now);
      }
    });
  }

  function start() {
    localise();
    relativise();
    setInterval(relativise, 30000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
