"""Manual cross-check against the public JavaScript did:ethr libraries (not collected by
pytest: it needs npm ethr-did, which the project does not ship; the resolver side,
ethr-did-resolver, did-resolver and ethers, is a devDependency, run through
tests/identity/resolve_ethr_did.mjs, which tests/identity/test_identity_migration.py uses).

    mkdir -p /tmp/ethrcheck && cd /tmp/ethrcheck && npm init -y && \\
      npm install ethr-did@3.0.38 ethers@6.17.0
    python tests/identity/crosscheck_ethr_did.py /tmp/ethrcheck   # writes sign.mjs there

On anvil it (1) scripts DID histories with direct, EIP-712 batched, legacy-signed, owner
change and deactivation changes, (2) has ethr-did (JS) make legacy 0x19 0x00 signed
calls relayed by another account, (3) resolves every DID with both the npm
ethr-did-resolver and medchain's resolver in the `ethr-did-resolver@11` profile and
compares documents and metadata for equality. Results are recorded in docs/identity.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DAY = 86_400
RESOLVE_JS = Path(__file__).with_name("resolve_ethr_did.mjs")
SIGN_JS = """import { EthrDID } from 'ethr-did'
import { JsonRpcProvider, SigningKey, Wallet } from 'ethers'
const [rpcUrl, registry, chainId, ownerKey, relayerKey] = process.argv.slice(2)
const provider = new JsonRpcProvider(rpcUrl, undefined, { cacheTimeout: -1 }) // no cached nonces between the two txs
const owner = new Wallet(ownerKey)
const relayer = new Wallet(relayerKey, provider)
const did = new EthrDID({ identifier: owner.address, provider, registry, chainNameOrId: Number(chainId), txSigner: relayer })
const hash = await did.createSetAttributeHash('did/svc/FromEthrDid', 'https://js.example/svc', 86400)
const sig = new SigningKey(ownerKey).sign(hash)
await did.setAttributeSigned('did/svc/FromEthrDid', 'https://js.example/svc', 86400, { sigV: sig.v, sigR: sig.r, sigS: sig.s })
const h2 = await did.createAddDelegateHash('sigAuth', relayer.address, 86400)
const s2 = new SigningKey(ownerKey).sign(h2)
await did.addDelegateSigned(relayer.address, { sigV: s2.v, sigR: s2.r, sigS: s2.s }, { delegateType: 'sigAuth', expiresIn: 86400 })
console.log(JSON.stringify({ did: did.did, address: owner.address }))
"""
ANVIL_KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def _node(*args: str) -> dict:
    out = subprocess.run(["node", *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"node {args[0]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout)


def main(js_dir: str) -> int:
    Path(js_dir, "sign.mjs").write_text(SIGN_JS)
    from ape import accounts, chain, networks, project
    from eth_account import Account

    from medchain.identity import DIDRegistryClient, DIDResolver, Operation, format_did, to_bytes32

    with networks.ethereum.local.use_provider("foundry") as provider:
        uri = provider.uri
        a = accounts.test_accounts
        zero = "0x" + "00" * 20  # (predecessor, importAdmin, importDeadline): a first version
        reg = a[0].deploy(project.DIDRegistry, zero, zero, 0)
        client = DIDRegistryClient(reg)
        relay = client.with_sender(a[0])
        me, lab, prov = a[1], a[2], a[3]
        reg.addDelegate(me, to_bytes32("veriKey"), lab, DAY, sender=me)
        reg.addDelegate(me, to_bytes32("sigAuth"), prov, DAY, sender=me)
        reg.setAttribute(
            me, to_bytes32("did/pub/X25519/enc/base64"), bytes(range(32)), DAY, sender=me
        )
        reg.setAttribute(
            me, to_bytes32("did/svc/HealthRecords"), b"https://records.example/p", DAY, sender=me
        )
        reg.setAttribute(
            me, to_bytes32("did/pub/Ed25519/veriKey/base58"), bytes(range(100, 132)), DAY, sender=me
        )
        reg.revokeDelegate(me, to_bytes32("veriKey"), lab, sender=me)
        key = Account.create()
        secp = bytes.fromhex("02b97c30de767f084ce3080168ee293053ba33b235d7116a3263d29f1450936b71")
        relay.relay(
            client.sign(
                key.key,
                [
                    Operation.set_attribute("did/svc/Lab", b'{"uri":"https://lab"}', DAY),
                    Operation.add_delegate("sigAuth", lab, DAY),
                    Operation.set_attribute("did/pub/Secp256k1/veriKey/hex", secp, DAY),
                ],
                key.address,
            )
        )
        relay.send_legacy_signed(key.key, Operation.change_owner(prov), key.address)
        dead = a[4]
        reg.changeOwner(dead, "0x" + "00" * 20, sender=dead)
        js_owner = Account.create()
        signed = _node(
            f"{js_dir}/sign.mjs",
            uri,
            reg.address,
            str(chain.chain_id),
            "0x" + bytes(js_owner.key).hex(),
            ANVIL_KEY0,
        )
        dids = [
            format_did(x, chain.chain_id)
            for x in (me.address, key.address, dead.address, a[5].address, js_owner.address)
        ]
        dids.append(dids[0] + f"?versionId={chain.blocks.head.number - 10}")
        ours = DIDResolver(
            provider.web3, reg.address, chain.chain_id, profile="ethr-did-resolver@11"
        )
        theirs = _node(str(RESOLVE_JS), uri, reg.address, str(chain.chain_id), *dids)
        equal = 0
        for did in dids:
            mine = ours.resolve(did).to_dict()
            same = (
                mine["didDocument"] == theirs[did]["didDocument"]
                and mine["didDocumentMetadata"] == theirs[did]["didDocumentMetadata"]
            )
            equal += same
            print(f"{'EQUAL' if same else 'DIFFERENT'}  {did}")
            if not same:
                print(json.dumps({"medchain": mine, "ethr-did-resolver": theirs[did]}, indent=1))
        services = ours.resolve(dids[4]).services()
        print(f"ethr-did legacy-signed calls landed: {signed['did']} services={services}")
        print(f"{equal}/{len(dids)} resolutions identical")
        return 0 if equal == len(dids) and services else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/ethrcheck"))
