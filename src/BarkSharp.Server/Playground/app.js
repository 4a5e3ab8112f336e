// The Bark playground: talks to this server's own API (v1/audio/voices, v1/audio/speech with stream_format "sse" and
// response_format "pcm") by relative URLs, so it also works behind a proxy under a path prefix; plays each segment's
// PCM through Web Audio as its event arrives, and keeps the last few runs for replay. Plain script, no dependencies.
// window.barkPlayground exposes the state to tests.
"use strict";

(() => {
  const SAMPLE_RATE = 24000;
  const MAX_RUNS = 5;
  const KEY_STORAGE = "bark.apiKey";
  const LANGUAGES = {
    en: "English", de: "German", es: "Spanish", fr: "French", hi: "Hindi", it: "Italian", ja: "Japanese",
    ko: "Korean", pl: "Polish", pt: "Portuguese", ru: "Russian", tr: "Turkish", zh: "Chinese",
  };

  const $ = (id) => document.getElementById(id);
  const state = {
    status: "idle",        // idle | streaming | done | stopped | error
    runs: [],              // finished runs, newest first: { id, text, voice, seed, samples, boundaries, timings, ttfaMs, wallMs }
    current: null,
    audioContext: null,
    sources: [],
    scheduledSeconds: 0,   // seconds of audio the last run (or replay) scheduled on the AudioContext
    contextStart: 0,       // the AudioContext time its first sample plays at
    lastError: null,
  };
  window.barkPlayground = state;

  // ---------- API ----------

  function apiKey() { return sessionStorage.getItem(KEY_STORAGE) || ""; }

  async function api(path, init = {}) {
    const headers = new Headers(init.headers || {});
    if (apiKey()) headers.set("Authorization", "Bearer " + apiKey());
    const response = await fetch(path, { ...init, headers });
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`;
      try {
        const body = await response.json();
        if (body && body.error && body.error.message) message = body.error.message;
      } catch { /* not JSON */ }
      if (response.status === 401) showKeyPanel();
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return response;
  }

  function showKeyPanel() {
    $("key-panel").hidden = false;
    $("api-key").focus();
  }

  // ---------- status and errors ----------

  function setStatus(text) { $("status").textContent = text; }

  function setState(s) {
    state.status = s;
    $("player").dataset.state = s;
    $("speak").disabled = s === "streaming";
    $("stop").disabled = s !== "streaming";
  }

  function showError(message) {
    state.lastError = message;
    $("error").textContent = message;
    $("error").hidden = false;
  }

  function clearError() {
    state.lastError = null;
    $("error").hidden = true;
    $("error").textContent = "";
  }

  // ---------- voices ----------

  function languageOf(id) {
    const m = /(?:^|\/)([a-z]{2})_speaker_\d+$/.exec(id);
    return m ? m[1] : null;
  }

  async function loadVoices(select) {
    const response = await api("v1/audio/voices");
    const voices = (await response.json()).data || [];
    const picker = $("voice");
    const previous = select || picker.value;
    picker.replaceChildren();
    const groups = new Map();
    const add = (label, id, text) => {
      if (!groups.has(label)) groups.set(label, []);
      groups.get(label).push([id, text]);
    };
    add("Any", "random", "random (Bark picks a voice)");
    for (const v of voices) {
      if (v.type === "custom") add("Custom voices", v.id, v.id);
      else if (v.type === "alias") add("OpenAI names", v.id, `${v.id} → ${v.preset}`);
      else {
        const lang = languageOf(v.id);
        add(lang ? `${LANGUAGES[lang] || lang} presets` : "Other presets", v.id, v.id);
      }
    }
    for (const [label, items] of groups) {
      const group = document.createElement("optgroup");
      group.label = label;
      for (const [id, text] of items) {
        const option = document.createElement("option");
        option.value = id;
        option.textContent = text;
        group.append(option);
      }
      picker.append(group);
    }
    if ([...picker.options].some((o) => o.value === previous)) picker.value = previous;
    else {
      const preset = voices.find((v) => v.type === "preset");
      if (preset) picker.value = preset.id;
    }
    $("server-info").textContent = `${voices.length} voices. Type, pick a voice, press Speak: audio plays while later segments are still generating.`;
  }

  async function uploadVoice() {
    clearError();
    const file = $("voice-file").files[0];
    if (!file) { showError("Choose a .npz voice prompt or a .wav recording first."); return; }
    setStatus(/\.wav$/i.test(file.name) ? `Cloning a voice from ${file.name} (the first clone loads the cloning models)…` : `Uploading ${file.name}…`);
    const form = new FormData();
    form.append("file", file, file.name);
    if ($("voice-name").value.trim()) form.append("name", $("voice-name").value.trim());
    try {
      const voice = await (await api("v1/audio/voices", { method: "POST", body: form })).json();
      await loadVoices(voice.id);
      setStatus(`Voice ${voice.id} uploaded.`);
    } catch (e) {
      showError(e.message);
    }
  }

  // ---------- audio ----------

  function audioContext() {
    if (!state.audioContext) state.audioContext = new AudioContext({ sampleRate: SAMPLE_RATE });
    if (state.audioContext.state === "suspended") state.audioContext.resume();
    return state.audioContext;
  }

  function stopAudio() {
    for (const s of state.sources) { try { s.stop(); } catch { /* already ended */ } }
    state.sources = [];
  }

  // schedules samples right after what is already queued (or now, when playback caught up with generation)
  function schedule(samples, player) {
    const ctx = audioContext();
    const buffer = ctx.createBuffer(1, samples.length, SAMPLE_RATE);
    buffer.copyToChannel(samples, 0);
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(ctx.destination);
    const at = Math.max(ctx.currentTime + 0.05, player.next);
    if (player.first === null) player.first = at;
    source.start(at);
    player.next = at + buffer.duration;
    state.sources.push(source);
    state.scheduledSeconds += buffer.duration;
    state.contextStart = player.first;
  }

  function playSamples(samples) {
    stopAudio();
    state.scheduledSeconds = 0;
    schedule(samples, { next: 0, first: null });
  }

  function pcm16ToFloat(bytes) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out = new Float32Array(bytes.byteLength >> 1);
    for (let i = 0; i < out.length; i++) out[i] = view.getInt16(2 * i, true) / 32768;
    return out;
  }

  function base64ToBytes(b64) {
    const text = atob(b64);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }

  function concat(chunks) {
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const out = new Float32Array(total);
    let at = 0;
    for (const c of chunks) { out.set(c, at); at += c.length; }
    return out;
  }

  function wavBytes(samples) {
    const data = samples.length * 2;
    const buffer = new ArrayBuffer(44 + data);
    const v = new DataView(buffer);
    const text = (at, s) => { for (let i = 0; i < s.length; i++) v.setUint8(at + i, s.charCodeAt(i)); };
    text(0, "RIFF"); v.setUint32(4, 36 + data, true); text(8, "WAVE");
    text(12, "fmt "); v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
    v.setUint32(24, SAMPLE_RATE, true); v.setUint32(28, SAMPLE_RATE * 2, true); v.setUint16(32, 2, true); v.setUint16(34, 16, true);
    text(36, "data"); v.setUint32(40, data, true);
    pcm16Into(samples, v, 44);
    return new Uint8Array(buffer);
  }

  function pcm16Into(samples, view, offset) {
    for (let i = 0; i < samples.length; i++) {
      const s = Math.max(-1, Math.min(1, samples[i]));
      view.setInt16(offset + 2 * i, Math.round(s * 32767), true);
    }
  }

  function pcmBytes(samples) {
    const bytes = new Uint8Array(samples.length * 2);
    pcm16Into(samples, new DataView(bytes.buffer), 0);
    return bytes;
  }

  function save(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  async function download(run) {
    if (!run) return;
    const format = $("format").value;
    const stem = `bark-${run.id}`;
    clearError();
    try {
      if (format === "wav") save(new Blob([wavBytes(run.samples)], { type: "audio/wav" }), stem + ".wav");
      else if (format === "pcm") save(new Blob([pcmBytes(run.samples)], { type: "audio/pcm" }), stem + ".pcm");
      else {
        // the server encodes it: ask again, non-streamed, with the run's seed (the same audio for a given seed)
        const name = format === "opus" ? "Ogg Opus" : format.toUpperCase();
        setStatus(`Generating ${name} with the run's seed…`);
        const body = { ...run.request, response_format: format, seed: Number(run.seed) };
        delete body.stream_format;
        const response = await api("v1/audio/speech", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
        save(await response.blob(), stem + (format === "opus" ? ".ogg" : "." + format));
        setStatus(`${name} saved.`);
      }
    } catch (e) {
      showError(e.message);
    }
  }

  // ---------- drawing ----------

  function drawWaveform(samples, boundaries) {
    const canvas = $("waveform");
    const g = canvas.getContext("2d");
    const w = canvas.width, h = canvas.height, mid = h / 2;
    const styles = getComputedStyle(document.documentElement);
    g.clearRect(0, 0, w, h);
    if (!samples.length) return;
    let peak = 1e-4;
    for (let i = 0; i < samples.length; i++) peak = Math.max(peak, Math.abs(samples[i]));
    const scale = (mid - 4) / peak;
    g.fillStyle = styles.getPropertyValue("--accent").trim() || "#1d5fd1";
    const perColumn = samples.length / w;
    for (let x = 0; x < w; x++) {
      const from = Math.floor(x * perColumn), to = Math.max(from + 1, Math.floor((x + 1) * perColumn));
      let lo = 0, hi = 0;
      for (let i = from; i < to && i < samples.length; i++) { lo = Math.min(lo, samples[i]); hi = Math.max(hi, samples[i]); }
      const top = mid - hi * scale, bottom = mid - lo * scale;
      g.fillRect(x, top, 1, Math.max(1, bottom - top));
    }
    g.strokeStyle = styles.getPropertyValue("--error").trim() || "#b3261e";
    g.fillStyle = g.strokeStyle;
    g.setLineDash([4, 3]);
    g.font = "11px system-ui, sans-serif";
    boundaries.forEach((at, i) => {
      const x = Math.round((at / samples.length) * w) + 0.5;
      if (i > 0) {
        g.beginPath(); g.moveTo(x, 0); g.lineTo(x, h); g.stroke();
      }
      g.fillText(`#${i + 1}`, x + 3, 12);
    });
    g.setLineDash([]);
    canvas.textContent = `Waveform: ${(samples.length / SAMPLE_RATE).toFixed(2)} s in ${boundaries.length} segment(s).`;
  }

  const ms = (v) => (v === undefined || v === null ? "–" : v.toFixed(v < 100 ? 1 : 0));

  function renderTimings(run) {
    const body = $("timings").tBodies[0];
    body.replaceChildren();
    const totals = { semantic: 0, coarse: 0, fine: 0, codec: 0 };
    const seen = new Set();
    run.timings.forEach((t, i) => {
      const row = body.insertRow();
      row.insertCell().textContent = `#${i + 1}`;
      for (const stage of ["semantic", "coarse", "fine", "codec"]) row.insertCell().textContent = t ? ms(t[stage]) : "–";
      // segments generated in one batch share its times: count each batch once in the total
      const key = t ? JSON.stringify(t) : null;
      if (key && !seen.has(key)) {
        seen.add(key);
        for (const stage in totals) totals[stage] += t[stage];
      }
    });
    const foot = $("timings").tFoot;
    foot.replaceChildren();
    const row = foot.insertRow();
    row.insertCell().textContent = "Total";
    for (const stage of ["semantic", "coarse", "fine", "codec"]) row.insertCell().textContent = seen.size ? ms(totals[stage]) : "–";
  }

  function renderSummary(run) {
    const seconds = run.samples.length / SAMPLE_RATE;
    $("ttfa").textContent = run.ttfaMs === null ? "–" : `${run.ttfaMs.toFixed(0)} ms`;
    $("audio-seconds").textContent = `${seconds.toFixed(2)} s`;
    $("wall").textContent = `${(run.wallMs / 1000).toFixed(2)} s`;
    $("rtf").textContent = seconds > 0 ? (run.wallMs / 1000 / seconds).toFixed(2) : "–";
    $("run-seed").textContent = run.seed ?? "–";
  }

  function showRun(run) {
    drawWaveform(run.samples, run.boundaries);
    renderTimings(run);
    renderSummary(run);
    state.shown = run;
    $("download").disabled = !run.samples.length;
    $("replay").disabled = !run.samples.length;
  }

  function renderRuns() {
    const list = $("runs");
    list.replaceChildren();
    for (const run of state.runs) {
      const li = document.createElement("li");
      const seconds = (run.samples.length / SAMPLE_RATE).toFixed(2);
      const rtf = run.samples.length ? (run.wallMs / 1000 / (run.samples.length / SAMPLE_RATE)).toFixed(2) : "–";
      const label = `${run.voice}, seed ${run.seed ?? "?"}: ${seconds} s, RTF ${rtf}${run.stopped ? " (stopped)" : ""} — “${run.text.slice(0, 60)}${run.text.length > 60 ? "…" : ""}”`;
      li.append(document.createTextNode(label));
      const play = document.createElement("button");
      play.type = "button";
      play.textContent = "Play";
      play.setAttribute("aria-label", `Play run ${run.id}`);
      play.addEventListener("click", () => { showRun(run); playSamples(run.samples); });
      const show = document.createElement("button");
      show.type = "button";
      show.textContent = "Show";
      show.setAttribute("aria-label", `Show run ${run.id}`);
      show.addEventListener("click", () => showRun(run));
      li.append(play, show);
      list.append(li);
    }
  }

  function renderSegments(run) {
    const list = $("segments");
    list.replaceChildren();
    const count = Math.max(run.segmentCount, run.chunks.length + (state.status === "streaming" ? 1 : 0));
    for (let i = 0; i < count; i++) {
      const li = document.createElement("li");
      const done = i < run.chunks.length;
      li.dataset.state = done ? "done" : i === run.chunks.length && state.status === "streaming" ? "generating" : "waiting";
      li.textContent = `Segment ${i + 1}${run.segmentCount ? " of " + run.segmentCount : ""}: ${done ? "played" : li.dataset.state}`;
      list.append(li);
    }
  }

  // ---------- speaking ----------

  function requestBody() {
    const body = {
      model: "bark",
      input: $("text").value,
      voice: $("voice").value,
      response_format: "pcm",
      stream_format: "sse",
    };
    if ($("seed").value !== "") body.seed = Number($("seed").value);
    if ($("greedy").checked) body.greedy = true;
    else {
      body.text_temp = Number($("text-temp").value);
      body.waveform_temp = Number($("waveform-temp").value);
      body.fine_temp = Number($("fine-temp").value);
    }
    return body;
  }

  async function speak() {
    if (state.status === "streaming") return;
    clearError();
    stopAudio();
    const request = requestBody();
    const run = {
      id: (state.runs[0]?.id ?? 0) + 1, text: request.input, voice: request.voice, seed: request.seed ?? null, request,
      chunks: [], boundaries: [], timings: [], segmentCount: 0, ttfaMs: null, wallMs: 0, samples: new Float32Array(0), stopped: false,
    };
    state.current = run;
    state.scheduledSeconds = 0;
    const controller = new AbortController();
    run.controller = controller;
    const player = { next: 0, first: null };
    const started = performance.now();
    audioContext();
    setState("streaming");
    renderSegments(run);
    setStatus("Generating segment 1…");
    let sawDone = false;
    try {
      const response = await api("v1/audio/speech", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request), signal: controller.signal,
      });
      run.seed = response.headers.get("X-Bark-Seed") ?? run.seed;
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let text = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        let end;
        while ((end = text.indexOf("\n\n")) >= 0) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
          if (!data) continue;
          const event = JSON.parse(data);
          if (event.type === "speech.audio.delta") {
            const samples = pcm16ToFloat(base64ToBytes(event.audio));
            if (run.ttfaMs === null) run.ttfaMs = performance.now() - started;
            run.boundaries.push(run.chunks.reduce((n, c) => n + c.length, 0));
            run.chunks.push(samples);
            run.timings.push(event.segment?.timings_ms ?? null);
            if (event.segment) run.segmentCount = event.segment.count;
            schedule(samples, player);
            renderSegments(run);
            setStatus(run.chunks.length < run.segmentCount ? `Playing; generating segment ${run.chunks.length + 1} of ${run.segmentCount}…` : "Playing the last segment…");
          } else if (event.type === "speech.audio.done") {
            sawDone = true;
          } else if (event.type === "error") {
            throw new Error(event.error?.message ?? "The server reported an error.");
          }
        }
      }
      if (!sawDone) throw new Error("The connection closed before the speech was complete.");
      finish(run, started, "done");
      setStatus(`Done: ${(run.samples.length / SAMPLE_RATE).toFixed(2)} s of audio in ${(run.wallMs / 1000).toFixed(2)} s.`);
    } catch (e) {
      if (controller.signal.aborted) {
        run.stopped = true;
        finish(run, started, "stopped");
        setStatus("Stopped.");
      } else {
        finish(run, started, "error");
        showError(e.message);
        setStatus("Failed.");
      }
    }
  }

  function finish(run, started, status) {
    run.wallMs = performance.now() - started;
    run.samples = concat(run.chunks);
    delete run.controller;
    setState(status);
    renderSegments(run);
    if (run.samples.length) {
      showRun(run);   // a run that failed before any audio leaves the last one on show
      state.runs.unshift(run);
      state.runs.length = Math.min(state.runs.length, MAX_RUNS);
      renderRuns();
    }
    state.current = null;
  }

  function stop() {
    if (state.current && state.current.controller) state.current.controller.abort();
    stopAudio();
  }

  // ---------- wiring ----------

  function insertTag(tag) {
    const box = $("text");
    const start = box.selectionStart ?? box.value.length, end = box.selectionEnd ?? start;
    const before = box.value.slice(0, start), after = box.value.slice(end);
    const pad = before && !/\s$/.test(before) ? " " : "";
    const insert = pad + tag + (after && !/^\s/.test(after) ? " " : "");
    box.value = before + insert + after;
    box.focus();
    box.selectionStart = box.selectionEnd = start + insert.length;
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const b of document.querySelectorAll("button.tag")) b.addEventListener("click", () => insertTag(b.dataset.tag));
    $("speak-form").addEventListener("submit", (e) => { e.preventDefault(); speak(); });
    $("stop").addEventListener("click", stop);
    $("upload").addEventListener("click", uploadVoice);
    $("download").addEventListener("click", () => download(state.shown));
    $("replay").addEventListener("click", () => state.shown && playSamples(state.shown.samples));
    $("greedy").addEventListener("change", () => {
      for (const id of ["text-temp", "waveform-temp", "fine-temp"]) $(id).disabled = $("greedy").checked;
    });
    $("text").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); speak(); }
    });
    document.addEventListener("keydown", (e) => { if (e.key === "Escape" && state.status === "streaming") stop(); });
    $("key-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      sessionStorage.setItem(KEY_STORAGE, $("api-key").value.trim());
      clearError();
      try {
        await loadVoices();
        $("key-panel").hidden = true;
        setStatus("Key accepted.");
      } catch (err) {
        showError(err.message);
      }
    });
    setState("idle");
    loadVoices().catch((e) => showError(e.message));
  });
})();
