// Review group page: mark entities by selecting words of the example (issue 27). A progressive
// enhancement: the example stays a textarea holding Rasa's own annotation syntax, [teks](entitas),
// which staff without JavaScript type themselves; this script writes that syntax around the
// selected words and lists the marked spans, each with a button that removes its mark. The server
// (layanwarga/teaching.py parse_annotated) checks whatever is posted.
(function () {
  "use strict";
  var box = document.getElementById("entity-marker");
  var area = document.getElementById("contoh");
  if (!box || !area) { return; }
  var select = document.getElementById("entity-name");
  var button = document.getElementById("entity-mark");
  var status = document.getElementById("entity-status");
  var list = document.getElementById("entity-spans");
  // [words](entity), [words](entity:value) or [words]{"entity": ..., "value": ...}
  var ANNOTATION = /\[([^\[\]]+)\](\([^()]*\)|\{[^{}]*\})/g;
  var WORD = /[\p{L}\p{N}]/u;

  function isWord(ch) { return ch !== undefined && WORD.test(ch); }

  function entityOf(label) {
    if (label.charAt(0) === "(") { return label.slice(1, -1).split(":")[0].trim(); }
    try { return String(JSON.parse(label).entity || "?"); } catch (e) { return "?"; }
  }

  function annotations() {
    var found = [];
    var match;
    ANNOTATION.lastIndex = 0;
    while ((match = ANNOTATION.exec(area.value)) !== null) {
      found.push({
        start: match.index,
        end: match.index + match[0].length,
        words: match[1],
        entity: entityOf(match[2])
      });
    }
    return found;
  }

  function say(text) { status.textContent = text; }

  function unmark(span) {
    var value = area.value;
    area.value = value.slice(0, span.start) + span.words + value.slice(span.end);
    refresh();
    say("Tanda pada “" + span.words + "” dihapus.");
  }

  function refresh() {
    while (list.firstChild) { list.removeChild(list.firstChild); }
    annotations().forEach(function (span) {
      var item = document.createElement("li");
      var label = document.createElement("span");
      label.textContent = span.words + " → " + span.entity;
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "small";
      remove.textContent = "Hapus";
      remove.setAttribute("aria-label", "Hapus tanda " + span.entity + " pada " + span.words);
      remove.addEventListener("click", function () { unmark(span); });
      item.appendChild(label);
      item.appendChild(remove);
      list.appendChild(item);
    });
  }

  function mark() {
    var value = area.value;
    var start = Math.min(area.selectionStart, area.selectionEnd);
    var end = Math.max(area.selectionStart, area.selectionEnd);
    while (start < end && /\s/.test(value.charAt(start))) { start += 1; }
    while (end > start && /\s/.test(value.charAt(end - 1))) { end -= 1; }
    if (start === end) {
      say("Pilih dulu kata di contoh yang ingin ditandai, lalu tekan tombol ini lagi.");
      return;
    }
    // Whole words only: Rasa leaves out a mark that cuts a word (it matches no token).
    while (start > 0 && isWord(value.charAt(start - 1)) && isWord(value.charAt(start))) { start -= 1; }
    while (end < value.length && isWord(value.charAt(end)) && isWord(value.charAt(end - 1))) { end += 1; }
    var overlapping = annotations().some(function (span) { return start < span.end && end > span.start; });
    if (overlapping || /[\[\]]/.test(value.slice(start, end))) {
      say("Bagian itu sudah bertanda. Hapus tandanya dulu bila ingin menandai ulang.");
      return;
    }
    var words = value.slice(start, end);
    var marked = "[" + words + "](" + select.value + ")";
    area.value = value.slice(0, start) + marked + value.slice(end);
    area.focus();
    area.setSelectionRange(start + marked.length, start + marked.length);
    refresh();
    say("“" + words + "” ditandai sebagai " + select.value + ".");
  }

  function label() { button.textContent = "Tandai sebagai " + select.value; }

  select.addEventListener("change", label);
  button.addEventListener("click", mark);
  area.addEventListener("input", refresh);
  box.hidden = false;
  label();
  refresh();
})();
