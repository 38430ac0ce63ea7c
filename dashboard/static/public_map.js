/* The public map of complaints: Leaflet + markercluster (vendored), data from /publik/peta.json.
   Every text from the data is set with textContent: nothing a citizen wrote becomes markup. */
(function () {
  "use strict";
  var box = document.getElementById("peta");
  if (!box || !window.L) { return; }
  var categories = JSON.parse(box.dataset.kategori || "{}");
  var stateLabels = JSON.parse(box.dataset.status || "{}");
  var map = L.map(box, { zoomControl: true }).setView([parseFloat(box.dataset.lat), parseFloat(box.dataset.lon)], 14);
  if (box.dataset.ubin) {
    L.tileLayer(box.dataset.ubin, {
      maxZoom: parseInt(box.dataset.zoomMaks || "19", 10),
      attribution: box.dataset.atribusi || ""
    }).addTo(map);
  }
  var cluster = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 50 });
  map.addLayer(cluster);
  var all = [];
  var count = document.getElementById("jumlah");
  var chosenCategory = document.getElementById("saring-kategori");
  var chosenState = document.getElementById("saring-status");

  function line(tag, text, cls) {
    var el = document.createElement(tag);
    el.textContent = text;
    if (cls) { el.className = cls; }
    return el;
  }

  function popup(item) {
    var wrap = document.createElement("div");
    wrap.className = "peta-popup";
    wrap.appendChild(line("strong", categories[item.kategori] || item.kategori));
    wrap.appendChild(line("div", (stateLabels[item.status] || item.status) + " · " + item.tanggal + " · " + item.nomor, "muted"));
    if (item.privat) {
      wrap.appendChild(line("p", "Laporan anonim atau rahasia: isinya tidak ditampilkan, lokasinya dibulatkan."));
    } else {
      if (item.uraian) { wrap.appendChild(line("p", item.uraian)); }
      if (item.lokasi) { wrap.appendChild(line("div", item.lokasi, "muted")); }
    }
    return wrap;
  }

  function matches(item) {
    var c = chosenCategory.value, s = chosenState.value;
    if (c && item.kategori !== c) { return false; }
    if (s === "terbuka") { return item.status !== "selesai"; }
    return !s || item.status === s;
  }

  function draw() {
    cluster.clearLayers();
    var shown = all.filter(matches);
    shown.forEach(function (item) {
      var marker = L.circleMarker([item.lat, item.lon], {
        radius: 9, weight: 2, fillOpacity: 0.85,
        className: item.status === "selesai" ? "penanda penanda-selesai" : "penanda penanda-terbuka"
      });
      marker.bindPopup(function () { return popup(item); });
      cluster.addLayer(marker);
    });
    count.textContent = shown.length + " laporan ditampilkan";
    box.dataset.ditampilkan = String(shown.length);
  }

  chosenCategory.addEventListener("change", draw);
  chosenState.addEventListener("change", draw);
  fetch(box.dataset.sumber, { headers: { "Accept": "application/json" } })
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(function (data) { all = data.laporan || []; draw(); box.dataset.siap = "1"; })
    .catch(function () {
      count.textContent = "Maaf, laporan belum dapat dimuat. Silakan muat ulang halaman.";
      box.dataset.siap = "gagal";
    });
}());
