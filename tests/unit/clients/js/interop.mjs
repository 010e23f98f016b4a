// Runs the wallet's own browser modules under Node for the Python interop tests.
// Reads a JSON list of requests on stdin, writes a JSON list of answers on stdout.
import { Wallet } from "ethers";
import { createMLDSA65 } from "@oqs/liboqs-js";
import { consentDomain, signGrant, signRevoke, grantDigest } from "../../../../clients/wallet/src/consent.js";
import { keyFromSeed, signWithContext, verifyWithContext } from "../../../../clients/wallet/src/pq.js";
import { verifyInclusion } from "../../../../clients/wallet/src/merkle.js";

const hex = (b) => Buffer.from(b).toString("hex");
const bytes = (h) => Uint8Array.from(Buffer.from(h, "hex"));

async function answer(req) {
  switch (req.op) {
    case "sign-grant":
    case "sign-revoke": {
      const signer = new Wallet(req.privateKey);
      const domain = consentDomain(req.chainId, req.verifyingContract);
      const signed = req.op === "sign-grant"
        ? await signGrant(signer, domain, req.terms)
        : await signRevoke(signer, domain, req.terms);
      if (req.op === "sign-grant") signed.digest = grantDigest(domain, req.terms);
      return signed;
    }
    case "noble-sign": {
      const key = keyFromSeed(bytes(req.seed));
      const sig = signWithContext(key, bytes(req.message), bytes(req.context));
      return { publicKey: hex(key.publicKey), signature: hex(sig) };
    }
    case "noble-verify":
      return { ok: verifyWithContext(bytes(req.publicKey), bytes(req.message), bytes(req.signature), bytes(req.context)) };
    case "liboqs-sign": {
      const sig = await createMLDSA65();
      const { publicKey, secretKey } = sig.generateKeyPair();
      const signature = sig.sign(bytes(req.message), secretKey);
      const out = { publicKey: hex(publicKey), signature: hex(signature) };
      sig.destroy();
      return out;
    }
    case "liboqs-verify": {
      const sig = await createMLDSA65();
      const ok = sig.verify(bytes(req.message), bytes(req.signature), bytes(req.publicKey));
      sig.destroy();
      return { ok };
    }
    case "merkle-verify":
      return { ok: verifyInclusion(req.root, req.leaf, req.proof) };
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const req of JSON.parse(input)) out.push(await answer(req));
process.stdout.write(JSON.stringify(out));
