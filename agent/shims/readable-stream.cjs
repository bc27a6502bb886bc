// readable-stream 4 is a copy of Node's own streams for browsers; the agent runs on Node, so it
// uses node:stream and saves ~78 KB of the bundle and ~8 ms of every start.
module.exports = require('node:stream');
