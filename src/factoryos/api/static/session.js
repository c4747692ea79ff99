"use strict";
// What every page shares: the API, its session (cookie + CSRF header), errors with their status,
// and the sign-in form. The page defines t(key), showLogin() and start().

const API = "/api/v1";
const $ = (id) => document.getElementById(id);

function csrf() {
  const m = document.cookie.match(/(?:^|; )factoryos_csrf=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

class HttpError extends Error { constructor(status, text) { super(`${status} ${text}`); this.status = status; } }

async function api(path, opts = {}) {
  const headers = Object.assign({ "X-CSRF-Token": csrf() }, opts.headers || {});
  const r = await fetch(API + path, Object.assign({ credentials: "same-origin" }, opts, { headers }));
  if (r.status === 401) { showLogin(); throw new HttpError(401, ""); }
  if (!r.ok) throw new HttpError(r.status, await r.text());
  return r.json();
}

async function login(ev) {
  ev.preventDefault();
  const r = await fetch(API + "/auth/login", { method: "POST", body: new URLSearchParams(new FormData($("login"))) });
  if (!r.ok) { $("login-error").textContent = t("wrong_login"); return; }
  $("login").hidden = true;
  await start();
}
