// Deliberately insecure demo used to produce SARIF test data.
const child_process = require("child_process");
const fs = require("fs");

function run(cmd) {
  return child_process.exec(cmd);
}

function calc(expr) {
  return eval(expr);
}

function readUser(name) {
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- path is validated by the caller
  return fs.readFileSync("/srv/users/" + name);
}

function isAdmin(user) {
  return user.role == "admin";
}

const emailRe = /^([a-zA-Z0-9]+)+@example\.com$/;
const unused = 42;

module.exports = { run, calc, readUser, isAdmin, emailRe };
