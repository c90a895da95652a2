// The coordinator Lambda: the user's app module is bundled in as "sparkless-app".
import app from "sparkless-app";
import { coordinatorHandler } from "../../lib/runtime/handlers.js";

export const handler = coordinatorHandler(app);
