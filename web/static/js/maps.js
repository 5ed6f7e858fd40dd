// The maps of the pages, on the vendored Leaflet: the needs map (areas' outlines, colour-coded markers, fitted to
// the data) and the place picker of the shift and need forms (click the map or choose a saved place; the lat/lon
// boxes stay as the way without JavaScript). Points arrive and leave in WGS-84; LinliDatum shifts them onto GCJ-02
// tiles. When the tiles cannot be reached the outlines and markers are still drawn on the plain background.
(function () {
  "use strict";
  if (!window.L || !window.LinliDatum) { return; }
  var L = window.L, D = window.LinliDatum;

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  // A map with a view from the start (layers added to a map without one fail in Leaflet), then its tiles.
  function newMap(container, tiles, lat, lon, words) {
    container.textContent = "";
    container.hidden = false;
    container.classList.add("is-map");
    var map = L.map(container, { scrollWheelZoom: false, zoomSnap: 0.5, zoomControl: false });
    L.control.zoom({ zoomInTitle: words.zoom_in, zoomOutTitle: words.zoom_out }).addTo(map);
    map.setView(show(tiles, lat, lon), 15);
    // Areas' names above their outlines but under the markers, so a name never hides a need.
    map.createPane("labels").style.zIndex = 450;
    map.createPane("markers").style.zIndex = 500;
    map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
    (tiles.layers || []).forEach(function (layer) {
      var options = { attribution: layer.attribution, maxZoom: layer.max_zoom };
      if (layer.subdomains) { options.subdomains = layer.subdomains; }
      L.tileLayer(layer.url, options).addTo(map);
    });
    return map;
  }

  function show(tiles, lat, lon) { return D.toDisplay(lat, lon, tiles.datum); }

  // Areas' outlines; on the needs map each sub-district carries its name, each committee its name on hover.
  function outlines(map, tiles, areas, named) {
    var group = L.featureGroup();
    (areas || []).forEach(function (area) {
      var layer = L.geoJSON(area.outline, {
        coordsToLatLng: function (c) { return L.latLng(show(tiles, c[1], c[0])); },
        interactive: named,
        style: { className: "outline outline-" + area.level, weight: area.level === "subdistrict" ? 2 : 1 }
      });
      if (!named) {
        // The picker's outline only shows where the committee is: a click on it chooses a point like any other.
      } else if (area.level === "subdistrict") {
        layer.bindTooltip(area.name, { permanent: true, direction: "center", className: "area-label", pane: "labels" });
      } else {
        layer.bindTooltip(area.name, { sticky: true });
      }
      layer.addTo(group);
    });
    return group.addTo(map);
  }

  // The needs map: outlines, then committees and needs as markers whose colour the page's legend explains.
  function drawMap(container) {
    var data = readJson(container.getAttribute("data-map"));
    if (!data) { return; }
    var first = (data.markers || [])[0] || { lat: 31.28, lon: 121.52 };
    var map = newMap(container, data.tiles, first.lat, first.lon, data.words);
    var areas = outlines(map, data.tiles, data.outlines, true);
    // Carers' routes (the visits board): a line from the base through the stops, under the markers.
    var routes = L.featureGroup();
    (data.routes || []).forEach(function (r) {
      var line = L.polyline(r.points.map(function (p) { return show(data.tiles, p[0], p[1]); }), {
        className: "route route-" + r.colour, weight: 3, opacity: 0.85
      });
      line.bindTooltip(r.label, { sticky: true });
      line.addTo(routes);
    });
    routes.addTo(map);
    var markers = L.featureGroup();
    (data.markers || []).forEach(function (m) {
      var marker = L.circleMarker(show(data.tiles, m.lat, m.lon), {
        radius: m.radius || 7, className: "marker marker-" + m.kind, weight: 1.5, fillOpacity: 0.9, pane: "markers"
      });
      marker.bindTooltip(m.label);
      if (m.href) { marker.on("click", function () { window.location.href = m.href; }); }
      marker.addTo(markers);
    });
    markers.addTo(map);
    var needs = L.featureGroup(markers.getLayers().filter(function (_, i) { return data.markers[i].kind !== "committee"; }));
    var target = needs.getLayers().length ? needs : (areas.getLayers().length ? areas : markers);
    if (target.getLayers().length) {
      map.fitBounds(target.getBounds(), { padding: [16, 16], maxZoom: 16 });
    }
    container.setAttribute("data-ready", "1");
  }

  function round6(x) { return Math.round(x * 1e6) / 1e6; }

  // The place picker: a map with one marker, the saved places to choose from, and the lat/lon boxes it fills.
  function drawPicker(box) {
    var data = readJson(box.getAttribute("data-place-picker"));
    var form = box.form || box.closest("form");
    if (!data || !form) { return; }
    var lat = form.elements.namedItem("lat"), lon = form.elements.namedItem("lon");
    var name = box.getAttribute("data-name-field") ? form.elements.namedItem(box.getAttribute("data-name-field")) : null;
    var select = box.querySelector("select.saved-places");
    var status = box.querySelector(".picker-status");
    var manual = box.querySelector("details.latlon");
    var map = newMap(box.querySelector(".picker-map"), data.tiles, data.centre.lat, data.centre.lon, data.words);
    var area = outlines(map, data.tiles, data.outlines, false);
    var marker = null, named = "";
    if (select) { select.closest(".field").hidden = false; }
    if (manual && !manual.querySelector(".field-error")) { manual.open = false; }
    // The saved places on the map too, named, so the map reads without street tiles; a tap on one chooses it.
    data.places.forEach(function (p) {
      var dot = L.circleMarker(show(data.tiles, p.lat, p.lon), {
        radius: 6, className: "marker marker-place", weight: 2, fillOpacity: 0.9, pane: "markers"
      }).addTo(map);
      dot.bindTooltip(p.name, { permanent: true, direction: "right", offset: [6, 0], className: "place-label", pane: "labels" });
      dot.on("click", function (event) {
        L.DomEvent.stopPropagation(event);
        choose(p);
      });
    });
    function place(latValue, lonValue, said) {
      var at = show(data.tiles, latValue, lonValue);
      if (!marker) {
        marker = L.circleMarker(at, {
          radius: 9, className: "marker marker-picked", weight: 3, fillOpacity: 0.9, pane: "markers"
        }).addTo(map);
      } else {
        marker.setLatLng(at);
      }
      if (status) { status.textContent = said; }
      return at;
    }
    function fill(latValue, lonValue) { lat.value = round6(latValue); lon.value = round6(lonValue); }
    function said(template, label) { return template.replace("%(name)s", label); }

    map.on("click", function (event) {
      var w = D.fromDisplay(event.latlng.lat, event.latlng.lng, data.tiles.datum);
      fill(w[0], w[1]);
      if (select) { select.value = ""; }
      place(w[0], w[1], data.words.clicked);
    });
    function choose(chosen) {
      fill(chosen.lat, chosen.lon);
      if (select) { select.value = String(chosen.id); }
      if (name && (!name.value || name.value === named)) { name.value = chosen.name; named = chosen.name; }
      place(chosen.lat, chosen.lon, said(data.words.chosen, chosen.name));
    }
    if (select) {
      select.addEventListener("change", function () {
        var chosen = data.places.filter(function (p) { return String(p.id) === select.value; })[0];
        if (chosen) {
          choose(chosen);
          map.panTo(show(data.tiles, chosen.lat, chosen.lon));
        }
      });
    }
    function typed() {
      var a = parseFloat(lat.value), b = parseFloat(lon.value);
      if (isFinite(a) && isFinite(b)) { place(a, b, data.words.typed); }
    }
    lat.addEventListener("change", typed);
    lon.addEventListener("change", typed);

    var start = [parseFloat(lat.value), parseFloat(lon.value)];
    if (!isFinite(start[0]) || !isFinite(start[1])) {
      start = [data.centre.lat, data.centre.lon];
      fill(start[0], start[1]);
    }
    var same = Math.abs(start[0] - data.centre.lat) < 1e-6 && Math.abs(start[1] - data.centre.lon) < 1e-6;
    var at = place(start[0], start[1], same ? said(data.words.centre, data.centre.name) : data.words.typed);
    // Open on the committee's whole area (and the point, should it lie outside), else on the point at street zoom.
    if (area.getLayers().length) {
      map.fitBounds(area.getBounds().extend(at), { padding: [8, 8], maxZoom: 17 });
    } else {
      map.setView(at, 16);
    }
    box.setAttribute("data-ready", "1");
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-map]"), drawMap);
  Array.prototype.forEach.call(document.querySelectorAll("[data-place-picker]"), drawPicker);
})();
