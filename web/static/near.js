// The map beside the results of /near (web/templates/near.html, web/near_map.py).
//
// The list is the page: this only draws its points, for the eye. The map stays out of the
// accessibility tree (aria-hidden) and out of the keyboard's way (no keyboard handler, the
// zoom buttons out of the tab order); a marker clicked leads to its item in the list, which
// everyone can reach. Titles come from other servers: they go in as text, never as HTML.
// Without a tile server (IWSN_MAP_TILE_URL) the markers sit on a plain background and the page
// asks nothing of any other host.
(function () {
  "use strict";
  var box = document.getElementById("near-map");
  if (!box || !window.L) {
    return;
  }
  var points;
  try {
    points = JSON.parse(box.getAttribute("data-points") || "[]");
  } catch (error) {
    return;
  }
  if (!points.length) {
    return;
  }
  var section = box.parentElement;
  var items = section ? section.querySelectorAll("ol.near > li") : [];
  box.hidden = false;
  if (section) {
    section.classList.add("near-with-map");
  }

  var map = L.map(box.querySelector(".near-map-canvas"), {
    keyboard: false,
    attributionControl: false, // the credit is the page's own text, under the map
    zoomSnap: 0.5,
    scrollWheelZoom: false, // a page scrolled past the map should not zoom it
  });
  var tiles = box.getAttribute("data-tiles");
  if (tiles) {
    L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
  }
  L.control.scale({ imperial: false }).addTo(map);
  map.zoomControl.getContainer().querySelectorAll("a").forEach(function (button) {
    button.setAttribute("tabindex", "-1");
  });

  function label(title, distance) {
    var text = document.createElement("span");
    text.textContent = distance ? title + " · " + distance : title;
    return text;
  }

  function show(item) {
    var target = item.querySelector("a") || item;
    if (target === item) {
      item.setAttribute("tabindex", "-1");
    }
    item.scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
    section.querySelectorAll("ol.near > li.near-picked").forEach(function (other) {
      other.classList.remove("near-picked");
    });
    item.classList.add("near-picked");
  }

  var bounds = [];
  points.forEach(function (point) {
    var index = point[0];
    var where = [point[1], point[2]];
    var marker = L.circleMarker(where, {
      radius: 7,
      weight: 2,
      color: "#7a1010",
      fillColor: "#c62828",
      fillOpacity: 0.85,
    }).addTo(map);
    marker.bindTooltip(label(point[3], point[4]), { direction: "top" });
    var item = items[index];
    if (item) {
      marker.on("click", function () {
        show(item);
      });
    }
    bounds.push(where);
  });
  map.fitBounds(bounds, { padding: [24, 24], maxZoom: 12 });
  box.setAttribute("data-markers", String(bounds.length));
})();
