// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

// PoseidonT3 is npm poseidon-solidity 0.0.5's library (circomlib's Poseidon of two field
// elements, generated code), compiled from the package rather than copied: importing it here
// makes `ape compile` build it, and the deploy plan deploys it once. EligibilityRegistry
// calls its pure `hash` through IPoseidonT3 (a staticcall, which a library's pure function
// accepts), so no library linking is needed.
import {PoseidonT3} from "poseidon-solidity/PoseidonT3.sol";
