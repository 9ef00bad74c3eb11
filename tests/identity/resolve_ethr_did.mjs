// Resolve did:ethr DIDs with the public npm ethr-did-resolver (a devDependency of the
// repository) against one registry, and print {did: resolution} as JSON: the reference
// the migration test compares medchain's registries and resolver with.
//   node tests/identity/resolve_ethr_did.mjs RPC_URL REGISTRY CHAIN_ID DID...
import { Resolver } from 'did-resolver'
import { getResolver } from 'ethr-did-resolver'

const [rpcUrl, registry, chainId, ...dids] = process.argv.slice(2)
if (!rpcUrl || !registry || !chainId || dids.length === 0) {
  console.error('usage: resolve_ethr_did.mjs RPC_URL REGISTRY CHAIN_ID DID...')
  process.exit(2)
}
const id = Number(chainId)
const network = { name: '0x' + id.toString(16), chainId: id, rpcUrl, registry }
const resolver = new Resolver(getResolver({ networks: [network] }), { cache: false })
const out = {}
for (const did of dids) out[did] = await resolver.resolve(did)
console.log(JSON.stringify(out))
