// Bundle entry: the wallet's API on `window.qcityWallet` (for the page and for tests), and the
// page itself when index.html is loaded.
import * as api from "./wallet.js";
import { start } from "./page.js";

globalThis.qcityWallet = api;
if (typeof document !== "undefined" && document.getElementById("wallet-root")) start(api);
