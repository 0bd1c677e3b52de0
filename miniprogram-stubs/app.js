const services = require('./utils/index.js');

App({
  onLaunch() {
    // Log in early so the first page's calls find a token; failures show on the pages.
    services.get().client.ensureLogin().catch(() => {});
  },
});
