// TronWeb (npm `tronweb`, pinned in the root package.json), for the Rust tests that check the relayer's
// Tron transactions against an implementation we did not write. Offline: no node is called.
//
//   node tests/tron/tronweb.mjs decode '{"rawDataHex": "...", "signature": "..."}'
//     TronWeb's reading of a transaction the relayer built: the TriggerSmartContract fields, the txID it
//     computes from them, and the address it recovers from the signature.
//   node tests/tron/tronweb.mjs build '{"owner": "41…", "contract": "41…", "data": "…", "callValue": 0,
//       "refBlockBytes": "…", "refBlockHash": "…", "expiration": ms, "timestamp": ms, "feeLimit": sun,
//       "privateKey": "…"}'
//     A transaction TronWeb builds and signs for that call: its raw_data hex, txID and signature.
//
// Prints one JSON line; exits non-zero on bad usage or when TronWeb throws.
import { utils } from "tronweb";

const { txJsonToPb, txPbToTxID, txPbToRawDataHex } = utils.transaction;
const [command, raw] = process.argv.slice(2);
const args = JSON.parse(raw ?? "null");

function transaction(fields) {
  return {
    visible: false,
    raw_data: {
      contract: [
        {
          parameter: {
            value: {
              data: fields.data,
              owner_address: fields.owner,
              contract_address: fields.contract,
              call_value: fields.callValue,
            },
            type_url: "type.googleapis.com/protocol.TriggerSmartContract",
          },
          type: "TriggerSmartContract",
        },
      ],
      ref_block_bytes: fields.refBlockBytes,
      ref_block_hash: fields.refBlockHash,
      expiration: fields.expiration,
      timestamp: fields.timestamp,
      fee_limit: fields.feeLimit,
    },
  };
}

if (command === "decode") {
  const decoded = utils.deserializeTx.deserializeTransaction("TriggerSmartContract", args.rawDataHex);
  const raw_data = decoded;
  const pb = txJsonToPb({ raw_data });
  const txID = txPbToTxID(pb).replace(/^0x/, "");
  const signer = utils.crypto.ecRecover(txID, args.signature);
  console.log(JSON.stringify({ raw_data, rawDataHex: txPbToRawDataHex(pb), txID, signer }));
} else if (command === "build") {
  const tx = transaction(args);
  const pb = txJsonToPb(tx);
  tx.txID = txPbToTxID(pb).replace(/^0x/, "");
  tx.raw_data_hex = txPbToRawDataHex(pb);
  utils.crypto.signTransaction(args.privateKey, tx);
  console.log(JSON.stringify({ rawDataHex: tx.raw_data_hex, txID: tx.txID, signature: tx.signature[0] }));
} else {
  console.error("usage: node tronweb.mjs decode|build '<json>'");
  process.exit(2);
}
