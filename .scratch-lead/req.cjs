globalThis.require = require;
