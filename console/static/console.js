// The operator console's little script. Pages are complete without it; it adds three things:
// the token (kept for this tab; also a cookie, so reading pages open when lookups need one),
// changes through the HTTP API with that token, and live figures.
(function () {
  "use strict";
  var TOKEN = "optout-token";

  var tokenInput = document.getElementById("token");
  if (tokenInput) {
    tokenInput.value = sessionStorage.getItem(TOKEN) || "";
    tokenInput.addEventListener("change", function () {
      var token = tokenInput.value.trim();
      sessionStorage.setItem(TOKEN, token);
      document.cookie = "optout_token=" + encodeURIComponent(token) +
        "; path=/; SameSite=Strict" + (token ? "" : "; max-age=0");
    });
  }

  function wait(ms) { return new Promise(function (done) { setTimeout(done, ms); }); }

  // A change is applied through Kafka a moment after it is accepted: wait until the page shows
  // it (its data-state changes), then reload.
  async function reloadWhenApplied() {
    var before = document.querySelector("main").dataset.state;
    for (var tries = 0; tries < 60; tries++) {
      await wait(250);
      var page = await fetch(location.href).then(function (r) { return r.text(); })
        .catch(function () { return ""; });
      var state = page.match(/data-state="([^"]*)"/);
      if (state && state[1] !== before) break;
    }
    location.reload();
  }

  async function submitToApi(event) {
    event.preventDefault();
    var form = event.target;
    var button = event.submitter;
    var status = form.querySelector("[role=status]");
    var body = Object.fromEntries(new FormData(form));
    if (button && button.name) body[button.name] = button.value;
    form.querySelectorAll("[data-type]").forEach(function (field) {
      var value = body[field.name];
      if (value === "") {
        delete body[field.name];  // left empty: not changed
      } else if (field.dataset.type === "list") {
        body[field.name] = value.split(",").map(function (item) { return item.trim(); })
          .filter(Boolean);
      } else if (field.dataset.type === "bool") {
        body[field.name] = value === "on";
      } else if (field.dataset.type === "int") {
        body[field.name] = parseInt(value, 10);
      }
    });
    var method = (button && button.dataset.method) || form.dataset.method || "POST";
    status.textContent = "Sending…";
    var response;
    try {
      response = await fetch(form.dataset.api, {
        method: method,
        headers: {
          "Content-Type": "application/json",
          "Authorization": "Bearer " + (sessionStorage.getItem(TOKEN) || ""),
        },
        body: JSON.stringify(body),
      });
    } catch (error) {
      status.textContent = "Not sent: " + error;
      return;
    }
    var answer = await response.json().catch(function () { return {}; });
    if (!response.ok) {
      status.textContent = "Refused (" + response.status + "): " + (answer.error || "") +
        (answer.problems ? " " + answer.problems.join("; ") : "") +
        (response.status === 401 ? ". Enter an admin token at the top of the page." : "");
      return;
    }
    if (form.dataset.done) {
      status.textContent = form.dataset.done;
      return;
    }
    status.textContent = "Accepted. Waiting until it is applied…";
    await reloadWhenApplied();
  }

  document.querySelectorAll("form[data-api]").forEach(function (form) {
    form.addEventListener("submit", submitToApi);
  });

  var live = document.querySelector("[data-refresh]");
  if (live) {
    setInterval(async function () {
      var fresh = await fetch(live.dataset.refresh).then(function (r) {
        return r.ok ? r.text() : null;
      }).catch(function () { return null; });
      if (fresh !== null) live.innerHTML = fresh;
    }, 2000);
  }
})();
