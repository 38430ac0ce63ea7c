// The chat page: each simulated citizen is a phone talking to the business on WhatsApp.
// State comes from /sim/api/state and /sim/api/citizens/{key}/messages; every change arrives as
// a server-sent event from /sim/api/events. Actions post to the simulator's control API, which
// turns them into signed Cloud API webhooks for the connector.
"use strict";

const $ = (id) => document.getElementById(id);
const api = async (path, options = {}) => {
  const init = { ...options };
  if (init.json !== undefined) {
    init.method = init.method || "POST";
    init.headers = { "Content-Type": "application/json" };
    init.body = JSON.stringify(init.json);
    delete init.json;
  }
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
};

const LOCATION_PRESETS = [
  { name: "Kantor Kelurahan Langkai", address: "Jl. Tjilik Riwut Km 1, Palangka Raya", latitude: -2.2087, longitude: 113.9131 },
  { name: "Bundaran Besar", address: "Jl. Yos Sudarso, Palangka Raya", latitude: -2.2104, longitude: 113.9200 },
  { name: "Pasar Besar Palangka Raya", address: "Jl. Jawa, Langkai", latitude: -2.2051, longitude: 113.9186 },
  { name: "Jl. Sisingamangaraja gg. 3", address: "RT 02/RW 05, Menteng", latitude: -2.2189, longitude: 113.8987 },
];
const AVATAR_COLORS = ["#6bcbef", "#ff8a65", "#9575cd", "#4db6ac", "#f06292", "#7986cb", "#ffb74d", "#a1887f"];
const TICK_SVG = {
  sent: '<svg viewBox="0 0 16 11" width="16" height="11"><path fill="currentColor" d="M11.1.3L4.8 6.6 2.2 4 1 5.2l3.8 3.8 7.5-7.5z"/></svg>',
  double: '<svg viewBox="0 0 16 11" width="16" height="11"><path fill="currentColor" d="M11.1.3L4.8 6.6 2.2 4 1 5.2l3.8 3.8 7.5-7.5zM15 .3L8.7 6.6 8 5.9 6.8 7.1 8.7 9l7.5-7.5z"/></svg>',
  pending: '<svg viewBox="0 0 16 15" width="15" height="15"><path fill="currentColor" d="M8 1a7 7 0 1 0 0 14A7 7 0 0 0 8 1zm0 12.6A5.6 5.6 0 1 1 8 2.4a5.6 5.6 0 0 1 0 11.2zM8.7 4.5H7.3V8.6l3.2 1.9.7-1.1-2.5-1.5z"/></svg>',
  failed: '<svg viewBox="0 0 16 16" width="15" height="15"><path fill="currentColor" d="M8 1a7 7 0 1 0 0 14A7 7 0 0 0 8 1zm.8 10.5H7.2V10h1.6v1.5zm0-3H7.2v-4h1.6v4z"/></svg>',
};
const REPLY_ICON = '<svg viewBox="0 0 24 24" width="16" height="16"><path fill="currentColor" d="M10 9V5l-7 7 7 7v-4.1c5 0 8.5 1.6 11 5.1-1-5-4-10-11-11z"/></svg>';
const LINK_ICON = '<svg viewBox="0 0 24 24" width="16" height="16"><path fill="currentColor" d="M14 3v2h3.6l-9.8 9.8 1.4 1.4L19 6.4V10h2V3zm5 16H5V5h7V3H5a2 2 0 0 0-2 2v14c0 1.1.9 2 2 2h14a2 2 0 0 0 2-2v-7h-2z"/></svg>';
const DOC_ICON = '<svg viewBox="0 0 24 24" width="28" height="28"><path fill="#ef5350" d="M14 2H6a2 2 0 0 0-2 2v16c0 1.1.9 2 2 2h12a2 2 0 0 0 2-2V8zm-1 7V3.5L18.5 9z"/></svg>';
const LIST_ICON = '<svg viewBox="0 0 24 24" width="16" height="16"><path fill="currentColor" d="M3 13h2v-2H3v2zm0 4h2v-2H3v2zm0-8h2V7H3v2zm4 4h14v-2H7v2zm0 4h14v-2H7v2zM7 7v2h14V7H7z"/></svg>';

const state = {
  business: { name: "LayanWarga" },
  citizens: new Map(), // key -> citizen summary
  conversations: new Map(), // key -> array of messages (loaded lazily)
  current: null,
  listChoice: null, // {messageId, rowId}
  locationChoice: null,
  photoFile: null,
  readTimer: null,
  statusById: new Map(), // latest status seen per message id (events may beat the history)
};
const STATUS_RANK = { pending: 0, sent: 1, delivered: 2, read: 3, failed: 4 };
function betterStatus(a, b) {
  if (!b) return a;
  if (!a) return b;
  return (STATUS_RANK[b] ?? 0) > (STATUS_RANK[a] ?? 0) ? b : a;
}

// -- formatting ------------------------------------------------------------------------------
function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
// WhatsApp's own markup: *bold*, _italic_, ~strike~, ```monospace```, and links.
function formatText(text) {
  let html = escapeHtml(text);
  html = html.replace(/```([\s\S]+?)```/g, "<code>$1</code>");
  html = html.replace(/(^|[\s(])\*(?!\s)([^*\n]+?)\*(?=$|[\s).,!?:;])/g, "$1<b>$2</b>");
  html = html.replace(/(^|[\s(])_(?!\s)([^_\n]+?)_(?=$|[\s).,!?:;])/g, "$1<i>$2</i>");
  html = html.replace(/(^|[\s(])~(?!\s)([^~\n]+?)~(?=$|[\s).,!?:;])/g, "$1<s>$2</s>");
  html = html.replace(/(https?:\/\/[^\s<]+[^\s<.,;:!?)])/g, '<a href="$1" target="_blank" rel="noopener">$1</a>');
  return html;
}
function timeOf(ts) {
  const d = new Date(ts * 1000);
  return `${String(d.getHours()).padStart(2, "0")}.${String(d.getMinutes()).padStart(2, "0")}`;
}
function initials(name) {
  const parts = String(name || "?").replace(/^\+/, "").trim().split(/\s+/);
  return ((parts[0] || "?")[0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
}
function colorFor(key) {
  let h = 0;
  for (const ch of key) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return AVATAR_COLORS[h % AVATAR_COLORS.length];
}
function prettyNumber(citizen) {
  if (!citizen.wa_id) return `nama pengguna · ${citizen.user_id}`;
  const n = citizen.wa_id;
  return n.startsWith("62") ? `+62 ${n.slice(2, 5)}-${n.slice(5, 9)}-${n.slice(9)}` : `+${n}`;
}
function previewOf(message) {
  if (!message) return "";
  const v = message.view || {};
  const mine = message.author === "citizen" ? "Anda: " : "";
  if (message.type === "image" || (v.header_media && v.header_media.type === "image")) return `${mine}📷 ${(v.text || "Foto").split("\n")[0]}`;
  if (message.type === "document") return `${mine}📄 ${v.text || (v.media && v.media.filename) || "Dokumen"}`;
  if (message.type === "video") return `${mine}🎥 ${v.text || "Video"}`;
  if (message.type === "audio") return `${mine}🎤 Pesan suara`;
  if (message.type === "sticker") return `${mine}Stiker`;
  if (message.type === "location") return `${mine}📍 ${v.text || "Lokasi"}`;
  if (message.status === "failed" && message.author === "bot") return "⚠️ Pesan gagal terkirim";
  return mine + (v.text || "").split("\n")[0];
}
function tickHtml(status) {
  const icon = status === "pending" ? TICK_SVG.pending : status === "failed" ? TICK_SVG.failed
    : status === "sent" ? TICK_SVG.sent : TICK_SVG.double;
  const label = { pending: "menunggu", sent: "terkirim", delivered: "diterima", read: "dibaca", failed: "gagal" }[status] || status;
  return `<span class="ticks" data-status="${status}" title="${label}" aria-label="${label}">${icon}</span>`;
}

// -- sidebar ---------------------------------------------------------------------------------
function renderSidebar() {
  const list = $("chat-list");
  list.innerHTML = "";
  for (const citizen of state.citizens.values()) {
    const li = document.createElement("li");
    li.className = "chat-item" + (citizen.key === state.current ? " active" : "");
    li.dataset.key = citizen.key;
    li.dataset.testid = "chat-item";
    const last = citizen.last_message;
    li.innerHTML = `
      <div class="avatar" style="background:${colorFor(citizen.key)}">${escapeHtml(initials(citizen.name))}</div>
      <div class="meta">
        <div class="row1"><span class="name">${escapeHtml(citizen.name)}</span>
          <span class="time">${last ? timeOf(last.timestamp) : ""}</span></div>
        <div class="number">${escapeHtml(prettyNumber(citizen))}</div>
        <div class="row2"><span class="preview${citizen.typing ? " typing" : ""}">${citizen.typing ? "LayanWarga mengetik…" : escapeHtml(previewOf(last))}</span>
          ${citizen.unread && citizen.key !== state.current ? `<span class="unread">${citizen.unread}</span>` : ""}</div>
      </div>`;
    li.addEventListener("click", () => openConversation(citizen.key));
    list.appendChild(li);
  }
}

function updateHeader() {
  const citizen = state.citizens.get(state.current);
  const status = $("chat-status");
  if (citizen && citizen.typing) {
    status.textContent = "mengetik…";
    status.classList.add("typing");
  } else {
    status.textContent = "akun bisnis";
    status.classList.remove("typing");
  }
  $("typing-row").hidden = !(citizen && citizen.typing);
  $("as-citizen").innerHTML = citizen ? `Anda: <b>${escapeHtml(citizen.name)}</b><br>${escapeHtml(prettyNumber(citizen))}` : "";
}

// -- conversation ----------------------------------------------------------------------------
async function openConversation(key) {
  state.current = key;
  $("app").classList.add("in-chat");
  $("composer-input").disabled = false;
  updateSendButton();
  renderSidebar();
  updateHeader();
  // Events that arrive while the history loads are collected and merged (by id, in order).
  if (!state.conversations.has(key)) state.conversations.set(key, []);
  const data = await api(`/sim/api/citizens/${encodeURIComponent(key)}/messages`);
  const merged = new Map(data.messages.map((m) => [m.id, m]));
  for (const m of state.conversations.get(key) || []) if (!merged.has(m.id)) merged.set(m.id, m);
  const list = [...merged.values()].sort((a, b) => a.seq - b.seq);
  for (const m of list) m.status = betterStatus(m.status, state.statusById.get(m.id));
  state.conversations.set(key, list);
  if (state.current === key) renderConversation();
  $("composer-input").focus();
  scheduleRead();
}

function renderConversation() {
  const box = $("messages");
  box.innerHTML = "";
  const messages = state.conversations.get(state.current) || [];
  const notice = document.createElement("div");
  notice.className = "notice";
  notice.textContent = "🔒 Simulasi lokal: pesan dikirim ke LayanWarga sebagai webhook WhatsApp Cloud API yang ditandatangani.";
  box.appendChild(notice);
  let lastDay = null;
  let prev = null;
  for (const message of messages) {
    const day = new Date(message.timestamp * 1000).toDateString();
    if (day !== lastDay) {
      const chip = document.createElement("div");
      chip.className = "day-chip";
      chip.textContent = day === new Date().toDateString() ? "HARI INI" : new Date(message.timestamp * 1000).toLocaleDateString("id-ID");
      box.appendChild(chip);
      lastDay = day;
      prev = null;
    }
    box.appendChild(messageElement(message, !prev || prev.author !== message.author));
    prev = message;
  }
  box.scrollTop = box.scrollHeight;
}

function appendMessage(message) {
  const box = $("messages");
  const messages = state.conversations.get(state.current) || [];
  const prev = messages.length > 1 ? messages[messages.length - 2] : null;
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 200;
  box.appendChild(messageElement(message, !prev || prev.author !== message.author));
  if (nearBottom || message.author === "citizen") box.scrollTop = box.scrollHeight;
}

function findMessage(id) {
  for (const list of state.conversations.values()) {
    const found = list.find((m) => m.id === id);
    if (found) return found;
  }
  return null;
}

function messageElement(message, first) {
  const v = message.view || {};
  if (message.author === "bot" && message.status === "failed") {
    const el = document.createElement("div");
    el.className = "notice error";
    el.dataset.id = message.id;
    const error = (message.errors || [])[0] || {};
    el.textContent = `⚠️ Pesan dari ${state.business.name} tidak terkirim (${error.code || "?"} ${error.title || ""}). Di WhatsApp asli, warga tidak menerimanya.`;
    return el;
  }
  const el = document.createElement("div");
  el.className = `msg ${message.author}${first ? " first" : ""}`;
  el.dataset.id = message.id;
  el.dataset.testid = message.author === "bot" ? "bot-message" : "citizen-message";
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  let inner = "";
  if (message.author === "citizen" && v.reply_to) {
    const quoted = findMessage(v.reply_to);
    const excerpt = ((quoted && quoted.view.text) || "").replace(/\s+/g, " ").slice(0, 140);
    inner += `<div class="quote"><div class="who">${escapeHtml(state.business.name)}</div>${formatText(excerpt)}</div>`;
  }
  if (v.template) bubble.title = `Template ${v.template.name} (${v.template.language})`;
  if (v.header_media) inner += mediaHtml(v.header_media, "header-media");
  if (v.header) inner += `<div class="header-text">${formatText(v.header)}</div>`;
  if (v.media) {
    // A photo, sticker, video, voice note or document: WhatsApp shows the file itself.
    if (v.media.type !== "sticker") bubble.classList.add("media-bubble");
    else bubble.classList.add("sticker-bubble");
    inner += mediaHtml({ type: v.media.type || message.type, ...v.media }, "body-media");
    if (v.text) inner += `<div class="text">${formatText(v.text)}</div>`;
  } else if (message.type === "location") {
    const loc = v.location || (message.message && message.message.location) || {};
    bubble.classList.add("location-card");
    inner += `<div class="map"><div class="grid"></div></div>`;
    if (loc.name) inner += `<div class="place">${escapeHtml(loc.name)}</div>`;
    if (loc.address) inner += `<div class="address">${escapeHtml(loc.address)}</div>`;
    inner += `<div class="coords">${Number(loc.latitude).toFixed(5)}, ${Number(loc.longitude).toFixed(5)}</div>`;
    inner += `<a href="https://www.google.com/maps/search/?api=1&query=${loc.latitude},${loc.longitude}" target="_blank" rel="noopener">Buka di peta</a>`;
  } else {
    inner += `<div class="text">${formatText(v.text)}</div>`;
    if (v.description) inner += `<div class="reply-desc">${escapeHtml(v.description)}</div>`;
  }
  if (v.footer) inner += `<div class="footer-text">${escapeHtml(v.footer)}</div>`;
  inner += `<span class="meta-line">${timeOf(message.timestamp)}${message.author === "citizen" ? tickHtml(message.status) : ""}</span>`;
  if (v.list) {
    inner += `<button class="list-open" data-testid="list-open">${LIST_ICON}${escapeHtml(v.list.button || "Pilih")}</button>`;
  }
  bubble.innerHTML = inner;
  el.appendChild(bubble);
  if (message.author === "citizen" && message.delivery_error && message.status !== "delivered" && message.status !== "read") {
    const err = document.createElement("div");
    err.className = "delivery-error";
    err.textContent = message.status === "failed" ? `Webhook gagal: ${message.delivery_error}` : `Webhook gagal (${message.delivery_error}), dicoba lagi…`;
    el.appendChild(err);
  }
  if (v.cta && v.cta.url) {
    const link = document.createElement("a");
    link.className = "cta-button";
    link.dataset.testid = "cta-button";
    link.href = v.cta.url;
    link.target = "_blank";
    link.rel = "noopener";
    link.innerHTML = `${LINK_ICON}<span>${escapeHtml(v.cta.display_text || v.cta.url)}</span>`;
    bubble.appendChild(link);
  }
  const listBtn = bubble.querySelector(".list-open");
  if (listBtn) listBtn.addEventListener("click", () => openList(message));
  if (v.buttons && v.buttons.length) {
    const wrap = document.createElement("div");
    wrap.className = "reply-buttons";
    for (const button of v.buttons) {
      const b = document.createElement("button");
      b.className = button.quick_reply ? "reply-button quick-reply" : "reply-button";
      b.dataset.testid = "reply-button";
      b.innerHTML = `${REPLY_ICON}<span>${escapeHtml(button.title)}</span>`;
      b.addEventListener("click", () => sendReply(message.id, button.id));
      wrap.appendChild(b);
    }
    el.appendChild(wrap);
  }
  return el;
}

// The file of a media message or header, as WhatsApp shows it: a picture, a player, or a
// document card with its name. The business's files come from the simulator's media store
// (uploaded by id) or from their link; a citizen's from the media store.
function mediaSource(media) {
  return media.id ? `/sim/media/${encodeURIComponent(media.id)}` : (media.link || "");
}
function mediaHtml(media, cls) {
  const src = escapeHtml(mediaSource(media));
  switch (media.type) {
    case "video":
      return `<video class="${cls}" src="${src}" controls preload="metadata" data-testid="video"></video>`;
    case "audio":
      return `<audio class="${cls}" src="${src}" controls preload="metadata" data-testid="audio"></audio>`;
    case "document": {
      const name = media.filename || (media.link || "").split("/").pop() || "Dokumen";
      return `<a class="doc-card ${cls}" href="${src}" target="_blank" rel="noopener" data-testid="document">${DOC_ICON}<span class="doc-name">${escapeHtml(name)}</span></a>`;
    }
    case "sticker":
      return `<img class="${cls} sticker" src="${src}" alt="Stiker" data-testid="sticker">`;
    default:
      return `<img class="${cls}" src="${src}" alt="Foto" data-testid="image">`;
  }
}

function replaceMessageElement(message) {
  const old = document.querySelector(`#messages [data-id="${CSS.escape(message.id)}"]`);
  if (!old) return;
  const fresh = messageElement(message, old.classList.contains("first"));
  old.replaceWith(fresh);
}

// -- list message sheet ----------------------------------------------------------------------
function openList(message) {
  const list = message.view.list;
  state.listChoice = { messageId: message.id, rowId: null };
  $("list-title").textContent = list.button || "Pilih";
  const body = $("list-body");
  body.innerHTML = "";
  for (const section of list.sections) {
    if (section.title) {
      const t = document.createElement("div");
      t.className = "section-title";
      t.textContent = section.title;
      body.appendChild(t);
    }
    for (const row of section.rows) {
      const b = document.createElement("button");
      b.className = "list-row";
      b.dataset.testid = "list-row";
      b.dataset.rowId = row.id;
      b.innerHTML = `<div class="row-text"><div class="row-title">${escapeHtml(row.title)}</div>${row.description ? `<div class="row-desc">${escapeHtml(row.description)}</div>` : ""}</div><span class="radio"></span>`;
      b.addEventListener("click", () => {
        body.querySelectorAll(".list-row").forEach((r) => r.classList.remove("selected"));
        b.classList.add("selected");
        state.listChoice.rowId = row.id;
        $("list-send").disabled = false;
      });
      body.appendChild(b);
    }
  }
  $("list-send").disabled = true;
  $("list-sheet").hidden = false;
}
function closeList() { $("list-sheet").hidden = true; state.listChoice = null; }

// -- sending ---------------------------------------------------------------------------------
function citizenPath(suffix) { return `/sim/api/citizens/${encodeURIComponent(state.current)}/${suffix}`; }

async function sendText() {
  const input = $("composer-input");
  const text = input.value.trim();
  if (!text || !state.current) return;
  input.value = "";
  autoGrow();
  updateSendButton();
  try { await api(citizenPath("text"), { json: { text } }); } catch (e) { alert(`Gagal mengirim: ${e.message}`); }
}
async function sendReply(messageId, replyId) {
  try { await api(citizenPath("reply"), { json: { message_id: messageId, reply_id: replyId } }); } catch (e) { alert(e.message); }
}
function updateSendButton() { $("send-btn").disabled = !state.current || !$("composer-input").value.trim(); }
function autoGrow() {
  const input = $("composer-input");
  input.style.height = "auto";
  input.style.height = Math.min(input.scrollHeight, 120) + "px";
}

// Read receipts: what is on screen is read (blue ticks on the business side).
function scheduleRead() {
  clearTimeout(state.readTimer);
  state.readTimer = setTimeout(async () => {
    if (!state.current || document.visibilityState !== "visible") return;
    const citizen = state.citizens.get(state.current);
    const messages = state.conversations.get(state.current) || [];
    if (messages.some((m) => m.author === "bot" && (m.status === "sent" || m.status === "delivered")) || (citizen && citizen.unread)) {
      try { await api(citizenPath("read"), { json: {} }); } catch (e) { /* shown on next event */ }
    }
  }, 400);
}

// -- events from the simulator -----------------------------------------------------------------
function upsertCitizenFromMessage(message) {
  const citizen = state.citizens.get(message.citizen);
  if (!citizen) return;
  citizen.last_message = message;
  if (message.author === "bot") {
    citizen.typing = false;
    if (message.status !== "failed" && message.status !== "read") citizen.unread = (citizen.unread || 0) + 1;
  }
}

function handleEvent(event) {
  switch (event.kind) {
    case "citizen": {
      const existing = state.citizens.get(event.citizen.key);
      state.citizens.set(event.citizen.key, { ...(existing || {}), ...event.citizen });
      renderSidebar();
      break;
    }
    case "message": {
      const message = event.message;
      const list = state.conversations.get(message.citizen);
      if (list && !list.some((m) => m.id === message.id)) {
        message.status = betterStatus(message.status, state.statusById.get(message.id));
        list.push(message);
        if (message.citizen === state.current) { appendMessage(message); scheduleRead(); }
      }
      upsertCitizenFromMessage(message);
      renderSidebar();
      updateHeader();
      break;
    }
    case "status": {
      state.statusById.set(event.message_id, betterStatus(state.statusById.get(event.message_id), event.status));
      const message = findMessage(event.message_id);
      if (message) {
        message.status = betterStatus(message.status, event.status);
        if (message.citizen === state.current) replaceMessageElement(message);
      }
      const citizen = state.citizens.get(event.citizen);
      if (citizen && event.author === "bot" && event.status === "read") citizen.unread = Math.max(0, (citizen.unread || 0) - 1);
      if (citizen && citizen.last_message && citizen.last_message.id === event.message_id) citizen.last_message.status = event.status;
      renderSidebar();
      break;
    }
    case "delivery": {
      const message = findMessage(event.message.id);
      if (message) {
        Object.assign(message, event.message);
        if (message.citizen === state.current) replaceMessageElement(message);
      }
      break;
    }
    case "typing": {
      const citizen = state.citizens.get(event.citizen);
      if (citizen) citizen.typing = event.typing;
      renderSidebar();
      updateHeader();
      break;
    }
    case "webhook":
      showWebhook(event.verified, event.note);
      break;
  }
}

function showWebhook(verified, note) {
  const banner = $("webhook-banner");
  banner.dataset.verified = verified === null || verified === undefined ? "" : String(verified);
  banner.textContent = verified ? `Webhook ${note} ✓ — pesan diteruskan ke asisten` : `Webhook ${note}. Menunggu asisten (rasa run)…`;
}

async function loadState() {
  const data = await api("/sim/api/state");
  state.business = data.business;
  $("business-name").textContent = data.business.name;
  showWebhook(data.webhook.verified, data.webhook.note);
  state.citizens = new Map(data.citizens.map((c) => [c.key, c]));
  renderSidebar();
  if (state.current) await openConversation(state.current);
}

function connectEvents() {
  const source = new EventSource("/sim/api/events");
  source.onmessage = (e) => handleEvent(JSON.parse(e.data));
  source.addEventListener("hello", () => {
    // (Re)connected: catch up on anything missed while away.
    state.conversations.clear();
    loadState().catch(() => {});
  });
}

// -- dialogs: photo, location, new citizen ------------------------------------------------------
function setupDialogs() {
  $("attach-btn").addEventListener("click", (e) => {
    e.stopPropagation();
    if (state.current) $("attach-menu").hidden = !$("attach-menu").hidden;
  });
  document.addEventListener("click", (e) => { if (!$("attach-menu").contains(e.target)) $("attach-menu").hidden = true; });

  $("attach-photo").addEventListener("click", () => { $("attach-menu").hidden = true; $("photo-input").click(); });
  $("photo-input").addEventListener("change", () => {
    const file = $("photo-input").files[0];
    if (!file) return;
    state.photoFile = file;
    $("photo-preview").src = URL.createObjectURL(file);
    $("photo-caption").value = "";
    $("photo-dialog").hidden = false;
    $("photo-caption").focus();
  });
  const closePhoto = () => { $("photo-dialog").hidden = true; $("photo-input").value = ""; state.photoFile = null; };
  $("photo-close").addEventListener("click", closePhoto);
  const sendPhoto = async () => {
    if (!state.photoFile) return;
    const form = new FormData();
    form.append("file", state.photoFile, state.photoFile.name);
    form.append("caption", $("photo-caption").value.trim());
    closePhoto();
    try { await api(citizenPath("image"), { method: "POST", body: form }); } catch (e) { alert(`Foto gagal dikirim: ${e.message}`); }
  };
  $("photo-send").addEventListener("click", sendPhoto);
  $("photo-caption").addEventListener("keydown", (e) => { if (e.key === "Enter") sendPhoto(); });

  const presets = $("location-presets");
  LOCATION_PRESETS.forEach((preset, index) => {
    const li = document.createElement("li");
    li.innerHTML = `<button class="location-preset" data-testid="location-preset" data-index="${index}"><span class="pin">📍</span><span><div class="p-name">${escapeHtml(preset.name)}</div><div class="p-addr">${escapeHtml(preset.address)}</div></span></button>`;
    li.firstChild.addEventListener("click", () => {
      presets.querySelectorAll(".location-preset").forEach((b) => b.classList.remove("selected"));
      li.firstChild.classList.add("selected");
      state.locationChoice = preset;
      $("location-error").textContent = "";
    });
    presets.appendChild(li);
  });
  $("attach-location").addEventListener("click", () => {
    $("attach-menu").hidden = true;
    state.locationChoice = null;
    presets.querySelectorAll(".location-preset").forEach((b) => b.classList.remove("selected"));
    $("location-error").textContent = "";
    $("location-dialog").hidden = false;
  });
  $("location-close").addEventListener("click", () => { $("location-dialog").hidden = true; });
  $("location-send").addEventListener("click", async () => {
    let choice = state.locationChoice;
    const lat = $("loc-lat").value.trim().replace(",", ".");
    const lon = $("loc-lon").value.trim().replace(",", ".");
    if ($("custom-location").open && lat && lon) {
      choice = { latitude: Number(lat), longitude: Number(lon), name: $("loc-name").value.trim(), address: $("loc-address").value.trim() };
      if (!Number.isFinite(choice.latitude) || !Number.isFinite(choice.longitude) || Math.abs(choice.latitude) > 90 || Math.abs(choice.longitude) > 180) {
        $("location-error").textContent = "Koordinat tidak valid.";
        return;
      }
    }
    if (!choice) { $("location-error").textContent = "Pilih tempat atau isi koordinat."; return; }
    $("location-dialog").hidden = true;
    try { await api(citizenPath("location"), { json: choice }); } catch (e) { alert(e.message); }
  });

  $("new-citizen-btn").addEventListener("click", () => {
    $("citizen-error").textContent = "";
    $("citizen-dialog").hidden = false;
    $("citizen-name").focus();
  });
  $("citizen-close").addEventListener("click", () => { $("citizen-dialog").hidden = true; });
  $("citizen-username").addEventListener("change", () => { $("citizen-phone").disabled = $("citizen-username").checked; });
  $("citizen-save").addEventListener("click", async () => {
    const name = $("citizen-name").value.trim();
    const usernameOnly = $("citizen-username").checked;
    const phone = $("citizen-phone").value.replace(/\D/g, "");
    if (!name) { $("citizen-error").textContent = "Isi nama profil."; return; }
    try {
      const citizen = await api("/sim/api/citizens", { json: { name, wa_id: phone, username_only: usernameOnly } });
      state.citizens.set(citizen.key, citizen);
      $("citizen-dialog").hidden = true;
      $("citizen-name").value = ""; $("citizen-phone").value = "";
      openConversation(citizen.key);
    } catch (e) { $("citizen-error").textContent = e.message; }
  });

  $("list-close").addEventListener("click", closeList);
  $("list-send").addEventListener("click", async () => {
    const choice = state.listChoice;
    closeList();
    if (choice && choice.rowId) await sendReply(choice.messageId, choice.rowId);
  });
  document.querySelectorAll(".overlay").forEach((overlay) => overlay.addEventListener("click", (e) => {
    if (e.target === overlay) { overlay.hidden = true; }
  }));
}

function setup() {
  $("composer-input").addEventListener("input", () => { autoGrow(); updateSendButton(); });
  $("composer-input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); sendText(); }
  });
  $("send-btn").addEventListener("click", sendText);
  $("back-btn").addEventListener("click", () => { $("app").classList.remove("in-chat"); state.current = null; renderSidebar(); });
  document.addEventListener("visibilitychange", scheduleRead);
  setupDialogs();
  connectEvents();
}

setup();
