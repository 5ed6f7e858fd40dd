// WGS-84 ↔ GCJ-02 for the pages: the same published formulas as api/services/datum.py (tests hold both to the
// same reference points). Points are stored and sent in WGS-84; a map on GCJ-02 tiles (高德) shows them shifted
// with toDisplay and reads a click back with fromDisplay. Any other tile source is WGS-84 and passes through.
(function (root) {
  "use strict";
  var A = 6378245.0, EE = 0.00669342162296594323, PI = Math.PI;

  function inChina(lat, lon) { return lat >= 0.8293 && lat <= 55.8271 && lon >= 72.004 && lon <= 137.8347; }

  function offset(lat, lon) {
    var x = lon - 105.0, y = lat - 35.0;
    var dLat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    dLat += (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    dLat += (20.0 * Math.sin(y * PI) + 40.0 * Math.sin(y / 3.0 * PI)) * 2.0 / 3.0;
    dLat += (160.0 * Math.sin(y / 12.0 * PI) + 320 * Math.sin(y * PI / 30.0)) * 2.0 / 3.0;
    var dLon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    dLon += (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    dLon += (20.0 * Math.sin(x * PI) + 40.0 * Math.sin(x / 3.0 * PI)) * 2.0 / 3.0;
    dLon += (150.0 * Math.sin(x / 12.0 * PI) + 300.0 * Math.sin(x / 30.0 * PI)) * 2.0 / 3.0;
    var rad = lat / 180.0 * PI;
    var magic = 1 - EE * Math.sin(rad) * Math.sin(rad);
    var sqrtMagic = Math.sqrt(magic);
    dLat = (dLat * 180.0) / ((A * (1 - EE)) / (magic * sqrtMagic) * PI);
    dLon = (dLon * 180.0) / (A / sqrtMagic * Math.cos(rad) * PI);
    return [dLat, dLon];
  }

  function wgs84ToGcj02(lat, lon) {
    if (!inChina(lat, lon)) { return [lat, lon]; }
    var d = offset(lat, lon);
    return [lat + d[0], lon + d[1]];
  }

  function gcj02ToWgs84(lat, lon) {
    if (!inChina(lat, lon)) { return [lat, lon]; }
    var wLat = lat, wLon = lon;
    for (var i = 0; i < 30; i += 1) {
      var g = wgs84ToGcj02(wLat, wLon), eLat = g[0] - lat, eLon = g[1] - lon;
      if (Math.abs(eLat) < 1e-9 && Math.abs(eLon) < 1e-9) { break; }
      wLat -= eLat; wLon -= eLon;
    }
    return [wLat, wLon];
  }

  root.LinliDatum = {
    wgs84ToGcj02: wgs84ToGcj02,
    gcj02ToWgs84: gcj02ToWgs84,
    // A stored (WGS-84) point where the tiles of `datum` show it, and back.
    toDisplay: function (lat, lon, datum) { return datum === "gcj02" ? wgs84ToGcj02(lat, lon) : [lat, lon]; },
    fromDisplay: function (lat, lon, datum) { return datum === "gcj02" ? gcj02ToWgs84(lat, lon) : [lat, lon]; }
  };
})(window);
