// The service layer the pages use: one client per app, built on first use from the global wx
// (tests install a shim as global wx before loading pages).
const { createClient, ApiError } = require('./request.js');
const { createApi, appealForm } = require('./api.js');
const { createConsultApi } = require('./consult.js');
const { createLive } = require('./live.js');
const subscribe = require('./subscribe.js');
const util = require('./util.js');

let services = null;

function get() {
  if (!services) {
    const client = createClient();
    const api = createApi(client);
    services = { client, api, consult: createConsultApi(client) };
  }
  return services;
}

// Tests start each app afresh.
function reset(opts) {
  services = null;
  if (opts) {
    const client = createClient(opts);
    services = { client, api: createApi(client), consult: createConsultApi(client) };
  }
  return get();
}

module.exports = { get, reset, appealForm, createLive, subscribe, util, ApiError };
