// The agent's stand-in for the `debug` package (mqtt.js and mqtt-packet log through it): a no-op
// logger, saving ~8 KB of the bundle. CommonJS because mqtt-packet calls require('debug')(name).
const noop = Object.assign(() => {}, { enabled: false });
noop.extend = () => noop;
module.exports = () => noop;
