//! The login app's single HTML page: plain HTML and a little script that calls the JSON routes.

/// The page served at `/`.
pub const HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>sealed-session login example</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; }
  section { border: 1px solid #ccc; border-radius: 6px; padding: 1rem; margin-bottom: 1rem; }
  #notice { color: #a40; }
  pre { overflow-x: auto; }
</style>
</head>
<body>
<h1>sealed-session</h1>
<p id="notice"></p>
<section>
  <form id="login-form">
    <label>User <input id="user-input" name="user" autocomplete="username" required maxlength="64"></label>
    <button id="login-button" type="submit">Log in</button>
  </form>
</section>
<section>
  <p>Signed in as: <strong id="user">nobody</strong></p>
  <p>Counter: <strong id="counter">0</strong></p>
  <button id="counter-button" type="button">Increment</button>
  <button id="logout-button" type="button">Log out</button>
  <button id="logout-others-button" type="button">Log out my other sessions</button>
  <button id="logout-everywhere-button" type="button">Log out everywhere</button>
</section>
<section>
  <h2>Try</h2>
  <ol>
    <li>Log in, under any name (no password: this is a demo).</li>
    <li>Increment the counter: the count lives in the session.</li>
    <li>Replay a cookie after logout: copy the session cookie's value from the developer tools
      (Application, Cookies: <code>__Host-id</code>, or <code>id</code> with
      <code>COOKIE_SECURE=false</code> and in <code>server_store</code>), click "Log out", then
      send the copy:
      <pre>curl -b '__Host-id=VALUE' <span class="origin">http://127.0.0.1:8080</span>/whoami</pre>
      It answers <code>"user":null</code> (<code>login</code> adds
      <code>"refused":"revoked"</code>): the copy signs no one in.</li>
    <li>Log out everywhere: log in as the same user in a second browser, profile or private
      window, click "Log out everywhere" in one, reload the other: signed out too.</li>
    <li>Sign out your other devices: the same with "Log out my other sessions", clicked in the
      window you logged in to last: it stays signed in, with a new cookie, and the other is
      signed out. (Clicked in the older one, it changes nothing for the newer one: a copy of an
      old cookie can't sign out a newer login.)</li>
  </ol>
  <p>The terminal running the app logs each request. (<code>server_store</code> can't do the
    last two: it answers <code>501</code>.)</p>
</section>
<script>
async function refresh() {
  const me = await (await fetch('/whoami')).json();
  document.getElementById('user').textContent = me.user ?? 'nobody';
  document.getElementById('counter').textContent = String(me.counter);
  document.getElementById('notice').textContent =
    me.refused ? 'Your session ended (' + me.refused + '), please sign in again.' : '';
}
async function post(path, body) {
  const init = { method: 'POST' };
  if (body) { init.body = new URLSearchParams(body); }
  const res = await fetch(path, init);
  if (!res.ok) { document.getElementById('notice').textContent = (await res.json()).error; }
  await refresh();
}
document.getElementById('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  post('/login', { user: document.getElementById('user-input').value });
});
document.getElementById('counter-button').addEventListener('click', () => post('/counter'));
document.getElementById('logout-button').addEventListener('click', () => post('/logout'));
document.getElementById('logout-others-button').addEventListener('click', () => post('/logout-others'));
document.getElementById('logout-everywhere-button').addEventListener('click', () => post('/logout-everywhere'));
for (const el of document.querySelectorAll('.origin')) { el.textContent = location.origin; }
refresh();
</script>
</body>
</html>
"#;
