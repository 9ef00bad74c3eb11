// Which address book the portal serves: $MEDCHAIN_PORTAL_BOOK (a book folder), else
// $MEDCHAIN_BOOK (a folder or a name) looked up in $MEDCHAIN_DEPLOYMENTS, ../deployments
// and ../.medchain/deployments; the default name is anvil's, ethereum-chain-31337.
import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const clone = resolve(web, "..");

export function bookDir(env = process.env) {
  if (env.MEDCHAIN_PORTAL_BOOK) return resolve(env.MEDCHAIN_PORTAL_BOOK);
  const name = env.MEDCHAIN_BOOK || "ethereum-chain-31337";
  if (isAbsolute(name) || name.includes("/")) return resolve(name);
  const roots = [env.MEDCHAIN_DEPLOYMENTS, join(clone, "deployments"), join(clone, ".medchain", "deployments")];
  for (const root of roots.filter(Boolean)) if (existsSync(join(root, name, "index.json"))) return join(root, name);
  return join(env.MEDCHAIN_DEPLOYMENTS || join(clone, "deployments"), name);
}

export const rpcTarget = (env = process.env) => env.MEDCHAIN_PORTAL_RPC || "http://127.0.0.1:8545";
