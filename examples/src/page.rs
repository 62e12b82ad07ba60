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
refresh();
</script>
</body>
</html>
"#;
