import { createContext, useContext } from "react";

// The CSP nonce of this response (server/security.ts makes one per request); scripts Remix renders carry it. In the
// browser it is empty: the scripts have run by then, and browsers hide the attribute anyway.
export const NonceContext = createContext("");

export const useNonce = () => useContext(NonceContext);
