// The worker Lambda: the user's app module is bundled in as "sparkless-app".
import app from "sparkless-app";
import { workerHandler } from "../../lib/runtime/handlers.js";

export const handler = workerHandler(app);
