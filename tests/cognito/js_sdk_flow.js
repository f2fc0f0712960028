// Drives the local Cognito layer with amazon-cognito-identity-js, the library the web pages use.
// Env: SDK_PATH (the package folder), POOL_ID, CLIENT_ID, ENDPOINT, MAILBOX_URL, USERNAME, PASSWORD.
// Prints one JSON line of observations; the pytest side asserts on it.
const sdk = require(process.env.SDK_PATH);

const pool = new sdk.CognitoUserPool({
  UserPoolId: process.env.POOL_ID,
  ClientId: process.env.CLIENT_ID,
  endpoint: process.env.ENDPOINT,
});
const name = process.env.USERNAME;
const password = process.env.PASSWORD;
const promise = (run) => new Promise((resolve, reject) => run(resolve, reject));
const callback = (resolve, reject) => (err, result) => (err ? reject(err) : resolve(result));
const codeOf = (run) => run().then(() => 'ok', (err) => err.code);

async function signIn(username, secret) {
  const user = new sdk.CognitoUser({ Username: username, Pool: pool });
  const details = new sdk.AuthenticationDetails({ Username: username, Password: secret });
  return promise((resolve, reject) => user.authenticateUser(details, { onSuccess: resolve, onFailure: reject }));
}

async function main() {
  const seen = {};
  const email = new sdk.CognitoUserAttribute({ Name: 'email', Value: `${name.toLowerCase()}@example.com` });
  await promise((resolve, reject) => pool.signUp(name, password, [email], null, callback(resolve, reject)));
  seen.duplicate = await codeOf(() =>
    promise((resolve, reject) => pool.signUp(name.toLowerCase(), password, [email], null, callback(resolve, reject))),
  );
  const mail = await (await fetch(`${process.env.MAILBOX_URL}?format=json`)).json();
  const code = mail.filter((m) => m.username === name).pop().code;
  const user = new sdk.CognitoUser({ Username: name.toLowerCase(), Pool: pool });
  const wrong = String((Number(code) + 1) % 1000000).padStart(6, '0');
  seen.wrongCode = await codeOf(() => promise((resolve, reject) => user.confirmRegistration(wrong, true, callback(resolve, reject))));
  await promise((resolve, reject) => user.confirmRegistration(code, true, callback(resolve, reject)));
  seen.wrongPassword = await codeOf(() => signIn(name, `${password}x`));
  const session = await signIn(name.toUpperCase(), password);
  seen.username = session.getIdToken().decodePayload()['cognito:username'];
  seen.idToken = session.getIdToken().getJwtToken();
  const current = pool.getCurrentUser();
  seen.refreshed = await promise((resolve, reject) =>
    current.refreshSession(session.getRefreshToken(), (err, next) => (err ? reject(err) : resolve(next.isValid()))),
  );
  console.log(JSON.stringify(seen));
}

main().catch((err) => {
  console.error(`js sdk flow failed: ${err.code || ''} ${err.message}`);
  process.exit(1);
});
