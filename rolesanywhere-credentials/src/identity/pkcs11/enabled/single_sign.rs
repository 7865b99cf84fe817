//! A single-part `C_Sign` in an operation that `C_SignInit` started: the one call the binding
//! (cryptoki 0.12) cannot make, and the only `unsafe` code in the product.
//!
//! A key with `CKA_ALWAYS_AUTHENTICATE` (PIV slot 9c, and keys made that way in HSMs) needs its
//! PIN between the start of each operation and its end: `C_SignInit`, `C_Login(CKU_CONTEXT_SPECIFIC)`,
//! then `C_Sign` (PKCS#11 v2.40 §5.5, as the official helper does). cryptoki's `Session::sign`
//! starts its own operation with a second `C_SignInit` (`CKR_OPERATION_ACTIVE`), and its function
//! list is crate-private; multi-part `C_SignUpdate`/`C_SignFinal` would do, but tokens that offer
//! only raw `CKM_ECDSA` for EC keys (SoftHSM2 2.6, many PIV cards) sign in one part only. So
//! this module takes the module's own function list and calls its `C_Sign` once, on the session
//! cryptoki opened and after cryptoki's `C_SignInit` and the context login succeeded.
//!
//! Safety, call by call:
//! * `Library::new(path)` opens the module cryptoki already loaded from the same `path`: the
//!   dynamic loader hands back the loaded instance (a reference count), so no second copy is
//!   initialised and no initialiser runs again. We keep the handle for the process, so the
//!   module (and the function table and code we point into) stay mapped even if cryptoki drops
//!   its own.
//! * `C_GetFunctionList` is the one symbol every PKCS#11 module exports, callable at any time
//!   (§5.2); it writes a pointer to the module's static `CK_FUNCTION_LIST`, which we check is
//!   not null and read once to copy the `C_Sign` pointer (checked present).
//! * `C_Sign(session, data, len, out, &mut out_len)`: `session` is the handle of a
//!   [`Session`] borrowed for the whole call, so it is open; the signer's mutex keeps every other
//!   thread off that session; `data` is a live slice of `len` bytes that the module only reads
//!   (the C prototype is not `const`); `out` is a live buffer of `out_len` bytes, and the module
//!   writes at most `out_len` bytes there (§5.2 on output buffers), then sets `out_len` to what
//!   it wrote, which we never let exceed the buffer when truncating. On
//!   `CKR_BUFFER_TOO_SMALL` the operation stays active (§5.2) and we call once more with a
//!   buffer of the size the module asked for.
//!
//! Tested by `tests/pkcs11.rs` against SoftHSM2 with always-authenticate EC and RSA keys, with
//! `--reuse-pin` and with the PIN typed at a terminal.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use cryptoki::context::Function;
use cryptoki::error::{Error as CkError, Rv};
use cryptoki::session::Session;
use cryptoki_sys::{CKR_BUFFER_TOO_SMALL, CKR_OK, CK_FUNCTION_LIST, CK_RV, CK_ULONG};

/// The signature of the module's `C_Sign`.
type CSign = unsafe extern "C" fn(
    cryptoki_sys::CK_SESSION_HANDLE,
    *mut u8,
    CK_ULONG,
    *mut u8,
    *mut CK_ULONG,
) -> CK_RV;

/// A module's `C_Sign`, with the library handle that keeps it mapped.
struct ModuleSign {
    sign: CSign,
    _library: libloading::Library,
}

/// Loaded modules by path: each is opened once per process.
fn loaded() -> &'static Mutex<HashMap<String, Arc<ModuleSign>>> {
    static LOADED: OnceLock<Mutex<HashMap<String, Arc<ModuleSign>>>> = OnceLock::new();
    LOADED.get_or_init(|| Mutex::new(HashMap::new()))
}

fn module_sign(module: &str) -> Result<Arc<ModuleSign>, String> {
    let mut map = loaded().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = map.get(module) {
        return Ok(found.clone());
    }
    // SAFETY: see the module documentation: the module is the one cryptoki loaded from this
    // path, so this only takes another reference to it.
    let library = unsafe { libloading::Library::new(module) }
        .map_err(|e| format!("cannot open {module} again: {e}"))?;
    let mut list: *mut CK_FUNCTION_LIST = std::ptr::null_mut();
    // SAFETY: C_GetFunctionList has this prototype in every PKCS#11 module, and writes one
    // pointer to `list`, which outlives the call.
    let rv = unsafe {
        let get: libloading::Symbol<'_, unsafe extern "C" fn(*mut *mut CK_FUNCTION_LIST) -> CK_RV> =
            library
                .get(b"C_GetFunctionList\0")
                .map_err(|e| format!("{module} has no C_GetFunctionList: {e}"))?;
        get(&mut list)
    };
    if rv != CKR_OK || list.is_null() {
        return Err(format!("C_GetFunctionList of {module} failed (0x{rv:x})"));
    }
    // SAFETY: `list` is the module's static function table (non-null, checked above), valid
    // while the library stays loaded, which `library` ensures.
    let sign = unsafe { (*list).C_Sign }.ok_or_else(|| format!("{module} has no C_Sign"))?;
    let found = Arc::new(ModuleSign {
        sign,
        _library: library,
    });
    map.insert(module.to_string(), found.clone());
    Ok(found)
}

/// What a failed single-part signature reports: the module could not be used, or `C_Sign`
/// returned an error.
pub(super) enum SignError {
    Module(String),
    Sign(CkError),
}

/// Finishes the signing operation that `C_SignInit` started in `session` with one `C_Sign` over
/// `data`, through the function list of `module` (the path cryptoki loaded it from).
pub(super) fn sign(session: &Session, module: &str, data: &[u8]) -> Result<Vec<u8>, SignError> {
    let module_sign = module_sign(module).map_err(SignError::Module)?;
    // Big enough for RSA-16384 and every EC curve in one call.
    let mut out = vec![0u8; 2048];
    for _ in 0..2 {
        let mut len = out.len() as CK_ULONG;
        // SAFETY: see the module documentation: an open session held by the caller, `data`
        // readable for its length, `out` writable for `len` bytes.
        let rv = unsafe {
            (module_sign.sign)(
                session.handle(),
                data.as_ptr().cast_mut(),
                data.len() as CK_ULONG,
                out.as_mut_ptr(),
                &mut len,
            )
        };
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        match rv {
            CKR_OK if len <= out.len() => {
                out.truncate(len);
                return Ok(out);
            }
            CKR_BUFFER_TOO_SMALL if len > out.len() && len <= 1 << 20 => out = vec![0u8; len],
            rv => return Err(SignError::Sign(into_error(rv))),
        }
    }
    Err(SignError::Sign(into_error(CKR_BUFFER_TOO_SMALL)))
}

fn into_error(rv: CK_RV) -> CkError {
    match Rv::from(rv).into_result(Function::Sign) {
        Err(e) => e,
        // CKR_OK with a length past the buffer: the module broke the contract.
        Ok(()) => CkError::Pkcs11(cryptoki::error::RvError::GeneralError, Function::Sign),
    }
}
