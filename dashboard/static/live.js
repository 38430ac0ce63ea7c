// Live conversation: poll for new messages and send replies without reloading the page.
(function () {
  "use strict";
  var chat = document.getElementById("chat");
  if (!chat) { return; }
  var pollUrl = chat.getAttribute("data-poll");
  var lastId = parseInt(chat.getAttribute("data-last") || "0", 10);
  var interval = Math.max(2, parseInt(chat.getAttribute("data-interval") || "3", 10)) * 1000;
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var form = document.getElementById("reply-form");
  var errorBox = document.getElementById("reply-error");

  // On a wide screen the messages scroll in their own box; on a phone the page scrolls, with the
  // reply box held at the bottom of the screen (style.css).
  function ownScroll() { return getComputedStyle(chat).overflowY !== "visible"; }
  function atBottom() {
    if (ownScroll()) { return chat.scrollHeight - chat.scrollTop - chat.clientHeight < 40; }
    var page = document.scrollingElement;
    return page.scrollHeight - page.scrollTop - window.innerHeight < 40;
  }
  function scrollDown() {
    if (ownScroll()) { chat.scrollTop = chat.scrollHeight; }
    else { window.scrollTo(0, document.scrollingElement.scrollHeight); }
  }

  function render(m) {
    var li = document.createElement("li");
    li.className = "msg " + (m.direction === "in" ? "in" : "out");
    li.setAttribute("data-id", String(m.id));
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = m.actor + " · " + m.time;
    li.appendChild(who);
    if (m.media_url) {
      var a = document.createElement("a");
      a.className = "attachment"; a.href = m.media_url; a.target = "_blank"; a.rel = "noopener";
      a.textContent = m.media_label;
      li.appendChild(a);
    }
    if (m.text) {
      var text = document.createElement("span");
      text.className = "text";
      text.textContent = m.text;
      li.appendChild(text);
    }
    var flag = document.getElementById("flag-template");
    if (flag && m.direction === "in" && m.text && m.text.charAt(0) !== "/") {
      // "Asisten salah paham": the same form the page renders for earlier lines.
      var button = flag.content.firstElementChild.cloneNode(true);
      button.querySelector('input[name="pesan"]').value = String(m.id);
      li.appendChild(button);
    }
    if (m.notification_id) {
      var status = document.createElement("span");
      status.className = "status small";
      status.textContent = m.status || "";
      li.appendChild(status);
    }
    return li;
  }

  function poll() {
    fetch(pollUrl + "?after=" + lastId, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var follow = atBottom();
        data.messages.forEach(function (m) {
          if (m.id > lastId) { chat.appendChild(render(m)); lastId = m.id; }
        });
        Object.keys(data.statuses || {}).forEach(function (id) {
          var li = chat.querySelector('li[data-id="' + id + '"] .status');
          if (li) { li.textContent = data.statuses[id]; }
        });
        if (follow) { scrollDown(); }
        var state = document.getElementById("handoff-state");
        if (state && data.state) { state.textContent = data.state; }
        var emergency = document.getElementById("handoff-emergency");
        if (emergency && data.emergency) { emergency.hidden = false; }
        if (!data.open && form) { form.hidden = true; }
      })
      .catch(function () { /* try again at the next tick */ });
  }

  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = new FormData(form);
      errorBox.hidden = true;
      fetch(form.action, { method: "POST", body: body, credentials: "same-origin",
                           headers: { "Accept": "application/json", "X-CSRF-Token": csrf } })
        .then(function (r) { return r.json().then(function (d) { return { ok: r.ok, data: d }; }); })
        .then(function (res) {
          if (!res.ok || !res.data.ok) {
            errorBox.textContent = (res.data && res.data.error) || "Pesan gagal disimpan. Coba lagi.";
            errorBox.hidden = false;
            return;
          }
          form.reset();
          poll();
        })
        .catch(function () {
          errorBox.textContent = "Koneksi terputus. Pesan belum terkirim; coba lagi.";
          errorBox.hidden = false;
        });
    });
  }
  scrollDown();
  setInterval(poll, interval);
})();
