// mqtt.js needs lru-cache only for MQTT 5 topic aliases, which the agent (MQTT 3.1.1) never uses:
// the bundle carries this stand-in instead (~17 KB).
exports.LRUCache = class LRUCache {
  constructor() {
    throw new Error('muster agent: MQTT 5 topic aliases are not supported');
  }
};
