const security = require("eslint-plugin-security");
module.exports = [
  security.configs.recommended,
  {
    files: ["**/*.js"],
    languageOptions: { sourceType: "commonjs" },
    rules: {
      "no-eval": "error",
      "no-unused-vars": "warn",
      "eqeqeq": "error",
      "security/detect-child-process": "error",
    },
  },
];
