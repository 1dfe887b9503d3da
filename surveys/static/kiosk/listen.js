/* Questions read aloud, on the kiosk and the online survey (progressive enhancement).
 *
 * Every text that can be read aloud has a "Nghe" (listen) button, hidden in the HTML:
 * <button data-listen data-audio="ID of an <audio>" data-say="the text" hidden> (or a visible button in a
 * hidden <span data-listen-box>). This script shows
 * the button when it has a recording (data-audio), or, without one, when the page is in
 * Vietnamese and the device has a Vietnamese speech-synthesis voice (the text is then spoken).
 * Pressing a button stops whatever is playing, plays its text, and marks the page as read aloud:
 * <body data-read-aloud="true"> (the kiosk sends read_aloud: true with the rating) and every
 * <input name="read_aloud"> set to "1" (the online survey's form). Without JavaScript the
 * buttons stay hidden and nothing else changes.
 */
(function () {
  "use strict";
  var buttons = Array.prototype.slice.call(document.querySelectorAll("button[data-listen]"));
  if (!buttons.length) return;
  var synth = window.speechSynthesis && window.SpeechSynthesisUtterance ? window.speechSynthesis : null;
  var language = document.body.getAttribute("data-language") || document.documentElement.lang || "vi";
  var current = null;

  function recording(button) {
    var id = button.getAttribute("data-audio");
    return id ? document.getElementById(id) : null;
  }
  function vietnameseVoice() {
    if (!synth || language !== "vi") return null;
    var voices = synth.getVoices() || [];
    for (var i = 0; i < voices.length; i += 1) {
      if (String(voices[i].lang).toLowerCase().replace("_", "-").indexOf("vi") === 0) return voices[i];
    }
    return null;
  }
  function showAvailable() {
    var voice = vietnameseVoice();
    buttons.forEach(function (button) {
      // The button, or the box it is hidden in (<span data-listen-box hidden>) where its style would show it.
      (button.closest("[data-listen-box]") || button).hidden = !(recording(button) || (voice && button.getAttribute("data-say")));
    });
  }
  function stop() {
    if (current) { current.pause(); current = null; }
    if (synth) synth.cancel();
  }
  function markReadAloud() {
    document.body.setAttribute("data-read-aloud", "true");
    Array.prototype.forEach.call(document.querySelectorAll("input[name=read_aloud]"), function (field) { field.value = "1"; });
  }

  buttons.forEach(function (button) {
    button.addEventListener("click", function (event) {
      event.preventDefault();
      stop();
      markReadAloud();
      var audio = recording(button);
      if (audio) {
        current = audio;
        try { audio.currentTime = 0; } catch (e) { /* not loaded yet */ }
        var started = audio.play();
        if (started && started.catch) started.catch(function () { /* blocked or offline without a copy */ });
        return;
      }
      var voice = vietnameseVoice();
      if (!voice) return;
      var utterance = new SpeechSynthesisUtterance(button.getAttribute("data-say"));
      utterance.voice = voice;
      utterance.lang = voice.lang;
      synth.speak(utterance);
    });
  });
  // The kiosk stops reading when it moves to another screen.
  document.addEventListener("listen:stop", stop);
  showAvailable();
  if (synth && synth.addEventListener) synth.addEventListener("voiceschanged", showAvailable);
})();
