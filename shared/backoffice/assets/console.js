// Busgate console: the little the pages need beyond HTML.
//
// 1. A form with data-confirm asks first.
// 2. On AWS (<html data-auth="cognito">) the HTTP API's JWT authorizer wants the operator's
//    Cognito ID token in the Authorization header, which a plain navigation cannot carry. So
//    /console/sign-in signs in against the user pool, keeps the ID token in this tab's
//    sessionStorage (never in a page, never in a cookie), and from then on every link and
//    form of the console is loaded with fetch() and that header, and the page swapped in.
//    In local mode (no data-auth) none of this runs: links and forms are plain HTML.
"use strict";

const TOKEN_KEY = "busgate.console.idToken";
const cognito = document.documentElement.dataset.auth === "cognito";

document.addEventListener("submit", (event) => {
  const form = event.target.closest("form");
  if (!form) return;
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    return;
  }
  if (!cognito) return;
  event.preventDefault();
  if (form.id === "sign-in") {
    signIn(form);
    return;
  }
  const data = new FormData(form, event.submitter);
  // Attributes, not form.action / form.enctype: a control named "action" would shadow them.
  const multipart = form.getAttribute("enctype") === "multipart/form-data";
  const method = (form.getAttribute("method") || "get").toUpperCase();
  const action = new URL(form.getAttribute("action") || location.href, location.href);
  if (method === "GET") {
    action.search = new URLSearchParams(data).toString();
    load(action.href, {}, true);
  } else {
    load(action.href, { method, body: multipart ? data : new URLSearchParams(data) }, true);
  }
});

document.addEventListener("click", (event) => {
  if (!cognito || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const a = event.target.closest("a[href]");
  if (!a) return;
  const url = new URL(a.getAttribute("href"), location.href);
  if (url.origin !== location.origin || !(url.pathname === "/console" || url.pathname.startsWith("/console/"))) return;
  event.preventDefault();
  load(url.href, {}, true);
});

window.addEventListener("popstate", () => {
  if (cognito && sessionStorage.getItem(TOKEN_KEY)) load(location.href, {}, false);
});

function toSignIn() {
  sessionStorage.removeItem(TOKEN_KEY);
  location.assign("/console/sign-in");
}

async function load(url, init, push) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return toSignIn();
  const headers = new Headers(init.headers || {});
  headers.set("Authorization", "Bearer " + token);
  let r;
  try {
    r = await fetch(url, { ...init, headers, credentials: "same-origin" });
  } catch (e) {
    window.alert("网络错误:" + e);
    return;
  }
  if (r.status === 401) return toSignIn();
  const type = r.headers.get("content-type") || "";
  if (!r.ok && !type.startsWith("text/html")) {
    window.alert(await r.text());
    return;
  }
  if (!type.startsWith("text/html")) {
    // A download (the catalogue export).
    const name = /filename="([^"]+)"/.exec(r.headers.get("content-disposition") || "");
    const href = URL.createObjectURL(await r.blob());
    const a = Object.assign(document.createElement("a"), { href, download: name ? name[1] : "download" });
    document.body.append(a);
    a.click();
    a.remove();
    URL.revokeObjectURL(href);
    return;
  }
  const doc = new DOMParser().parseFromString(await r.text(), "text/html");
  document.title = doc.title;
  document.body.replaceWith(document.adoptNode(doc.body));
  if (push) history.pushState({}, "", r.url);
  const hash = new URL(r.url).hash || new URL(url, location.href).hash;
  if (hash) document.getElementById(hash.slice(1))?.scrollIntoView();
  else window.scrollTo(0, 0);
}

async function signIn(form) {
  const error = document.getElementById("sign-in-error");
  error.hidden = true;
  const data = new FormData(form);
  let answer;
  try {
    const r = await fetch(form.dataset.endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
      },
      body: JSON.stringify({
        AuthFlow: "USER_PASSWORD_AUTH",
        ClientId: form.dataset.client,
        AuthParameters: { USERNAME: data.get("username"), PASSWORD: data.get("password") },
      }),
    });
    answer = await r.json();
  } catch (e) {
    answer = { message: String(e) };
  }
  const token = answer && answer.AuthenticationResult && answer.AuthenticationResult.IdToken;
  if (!token) {
    error.textContent = "登录失败:" + ((answer && (answer.message || answer.__type)) || "未知错误");
    error.hidden = false;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  load("/console", {}, true);
}
