//! A minimal VST3 host for integration tests, built on `libloading` and the `vst3` crate's COM
//! bindings.
//!
//! It loads the same shared library as [`crate::clap_host`] (on Linux a `.clap` and a `.vst3`
//! module are the same file: `libaudiocollab.so` exports both `clap_entry` and
//! `GetPluginFactory`), and drives the plugin the way a VST3 DAW does:
//!
//! 1. `ModuleEntry(handle)` once per process, then `GetPluginFactory()`; read `IPluginFactory`,
//!    `IPluginFactory2` and `IPluginFactory3` ([`Factory`]);
//! 2. `createInstance(cid, IComponent)`, `initialize(IHostApplication)`, find the
//!    `IEditController` (the component itself for a single-component plugin, otherwise
//!    `getControllerClassId` + `createInstance` + `initialize`), `setComponentHandler`
//!    ([`Vst3Host::new`]);
//! 3. read the parameter list with `getParameterCount`/`getParameterInfo`;
//! 4. `setBusArrangements`, `setupProcessing`, `setActive(true)` ([`Vst3Host::activate`]), then
//!    `setProcessing(true)` and `process()` on an *audio thread* with [`IParameterChanges`]
//!    ([`Vst3Host::process`]);
//! 5. `getState`/`setState` through an in-memory [`IBStream`] ([`MemoryStream`]);
//! 6. tear down in order: `setProcessing(false)`, `setActive(false)`,
//!    `setComponentHandler(null)`, `terminate`, release ([`Drop for Vst3Host`](Vst3Host)).
//!
//! # Threads and allocations
//!
//! A [`Vst3Host`] lives on the thread that created it (nice-plug takes that thread as the
//! plugin's GUI/main thread). Each [`Vst3Host::process`] call runs `setProcessing(true)` (first
//! call after activation) and every `process()` on a fresh scoped audio thread, as the CLAP
//! harness does. nice-plug wraps its whole `process()` (and `setProcessing(true)`, which calls the
//! plugin's `reset()`) in `assert_no_alloc` in this test build. That guard lives in the plugin
//! library's own global allocator, so it only sees allocations made by the plugin's code: host
//! callbacks run from inside `process()` allocate through the test binary's allocator and are
//! *not* caught (checked by making `getPointCount` allocate: nothing aborted). The host side is
//! real-time safe anyway: [`ParameterChanges`] and [`ParamValueQueue`] work on storage
//! preallocated before the first block, and the host callbacks only touch atomics.
//!
//! # Parameters as VST3 sees them (nice-plug 0.4.2, `src/wrapper/vst3/wrapper.rs`)
//!
//! * the `ParamID` is nice-plug's hash of the string id, the same number as the CLAP id
//!   ([`crate::clap_host::clap_param_id`]);
//! * values on the VST3 side are always *normalized* `0..=1`: toggles are `0`/`1` with
//!   `stepCount = 1`, the two-option high-pass slope has `stepCount = 1` too, continuous
//!   parameters have `stepCount = 0` and include the skew;
//! * with `MIDI_INPUT = None` the wrapper adds no hidden MIDI-CC parameters (it would add
//!   `130 * 16` of them for `MidiConfig::MidiCCs`), so the list is exactly the plugin's own;
//! * the bypass parameter (`make_bypass()`) is flagged `kIsBypass`;
//! * the parameter groups are exposed as `IUnitInfo` units;
//! * the component state is the bare JSON of nice-plug's `PluginState` (no length prefix,
//!   unlike the CLAP state, and no zstd since that feature is off).
//!
//! # Known wrapper quirks
//!
//! * `getParameterInfo` accepts `index == getParameterCount()` (it checks `index > count`) and
//!   then indexes out of bounds, which panics inside an `extern "system"` function and aborts
//!   the host. [`Vst3Host::read_param_list`] only asks for `0..count`.
//! * `initialize(context)` ignores the context: the plugin never calls
//!   `IHostApplication::getName` ([`HostCounts::get_name`] stays 0).
//! * `IEditController::setState`/`getState`/`setComponentState` are no-ops returning
//!   `kResultOk`; all state goes through `IComponent`. `IComponent::setState` reads from the
//!   stream's current position to its end and does not reset the plugin; it refuses anything
//!   that is not a JSON `PluginState` with `kResultFalse`.
//! * `IUnitInfo` lists one unit per parameter group, all children of the root unit, but not the
//!   root unit itself.
//! * Several points in one `IParamValueQueue` are applied as steps at their offsets (the block
//!   is split there), not as the linear ramp the VST3 docs describe between points.

#![allow(non_snake_case)] // The COM trait methods keep the SDK's names.

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::path::PathBuf;
use std::ptr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use vst3::Steinberg::Vst::ProcessContext_::StatesAndFlags_::{
    kPlaying, kProjectTimeMusicValid, kTempoValid, kTimeSigValid,
};
use vst3::Steinberg::Vst::{
    AudioBusBuffers, AudioBusBuffers__type0, BusDirections_, BusInfo, IAudioProcessor, IAudioProcessorTrait,
    IComponent, IComponentHandler, IComponentHandlerTrait, IComponentTrait, IEditController, IEditControllerTrait,
    IHostApplication, IHostApplicationTrait, IParamValueQueue, IParamValueQueueTrait, IParameterChanges,
    IParameterChangesTrait, IUnitInfo, IUnitInfoTrait, MediaTypes_, ParamID, ParamValue, ParameterInfo,
    ParameterInfo_::ParameterFlags_, ProcessContext, ProcessData, ProcessModes_, ProcessSetup, SpeakerArr,
    SpeakerArrangement, String128, SymbolicSampleSizes_, TChar, UnitInfo,
};
use vst3::Steinberg::{
    int32, int64, kInvalidArgument, kNotImplemented, kResultFalse, kResultOk, tresult, FUnknown, IBStream,
    IBStreamTrait, IBStream_::IStreamSeekMode_, IPluginBaseTrait, IPluginFactory, IPluginFactory2,
    IPluginFactory2Trait, IPluginFactory3, IPluginFactory3Trait, IPluginFactoryTrait, PClassInfo, PClassInfo2,
    PClassInfoW, PFactoryInfo, TUID,
};
use vst3::{Class, ComPtr, ComWrapper, Interface};

pub use crate::harness::ParamChange;
use crate::harness::{check_process, cut_into_blocks, on_audio_thread};

/// Name the plugin's audio class has in the factory (`Plugin::NAME`).
pub const PLUGIN_NAME: &str = "AudioCollab Assistant";

/// Category of an audio processor class in a VST3 factory (`kVstAudioEffectClass`).
pub const AUDIO_MODULE_CLASS: &str = "Audio Module Class";

/// The plugin's VST3 class id (`Vst3Plugin::VST3_CLASS_ID`; nice-plug only reorders it on
/// Windows).
pub const CLASS_ID: [u8; 16] = *b"AudioCollabAsst1";

/// What the host's `IHostApplication::getName` answers.
pub const HOST_NAME: &str = "integration-test-host";

/// Path of the shared library to load: the same file as the CLAP harness's bundle
/// ([`crate::clap_host::plugin_bundle`], which explains the search order and honours
/// [`crate::clap_host::BUNDLE_ENV`]). On Linux a VST3 module is that very library.
pub fn plugin_library() -> PathBuf {
    crate::clap_host::plugin_bundle()
}

// ---------------------------------------------------------------------------------------------
// Strings

/// Reads a NUL-terminated `char8` array.
fn c_chars(chars: &[std::ffi::c_char]) -> String {
    let bytes: Vec<u8> = chars.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Reads a NUL-terminated UTF-16 array (`String128` and friends).
fn u16_chars(chars: &[u16]) -> String {
    let len = chars.iter().position(|&c| c == 0).unwrap_or(chars.len());
    String::from_utf16_lossy(&chars[..len])
}

/// Writes `text` as a NUL-terminated UTF-16 string, truncated to fit.
fn write_u16(text: &str, dest: &mut [TChar]) {
    if dest.is_empty() {
        return;
    }
    let mut len = 0;
    let room = dest.len() - 1;
    for (unit, slot) in text.encode_utf16().zip(dest.iter_mut().take(room)) {
        *slot = unit;
        len += 1;
    }
    dest[len] = 0;
}

/// `tresult` names for messages.
pub fn result_name(result: tresult) -> &'static str {
    match result {
        r if r == kResultOk => "kResultOk",
        r if r == kResultFalse => "kResultFalse",
        r if r == kInvalidArgument => "kInvalidArgument",
        r if r == kNotImplemented => "kNotImplemented",
        r if r == vst3::Steinberg::kNoInterface => "kNoInterface",
        _ => "other error",
    }
}

fn check(result: tresult, what: &str) -> Result<()> {
    ensure!(result == kResultOk, "{what} returned {result} ({})", result_name(result));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Module

type GetPluginFactory = unsafe extern "system" fn() -> *mut c_void;

/// The loaded library. Loaded once per process and never unloaded: nice-plug's copy of `std`
/// registers thread-exit destructors on every thread that touched the plugin, and unloading the
/// library while test threads exit crashes (see `clap_host::TestHost::load`). `ModuleExit` is
/// therefore never called either.
struct Module {
    path: PathBuf,
    get_factory: GetPluginFactory,
    /// What `ModuleEntry` returned (`None` where the platform has no such entry point).
    module_entry: Option<bool>,
}

fn module() -> Result<&'static Module> {
    static MODULE: OnceLock<std::result::Result<Module, String>> = OnceLock::new();
    MODULE.get_or_init(|| load_module().map_err(|e| format!("{e:#}"))).as_ref().map_err(|e| anyhow!("{e}"))
}

fn load_module() -> Result<Module> {
    let path = plugin_library();
    // SAFETY: loading the library runs its initialisers; it is the plugin built from this
    // workspace, the code under test.
    let library = unsafe { libloading::Library::new(&path) }.with_context(|| format!("dlopen {}", path.display()))?;
    // Leaked on purpose: never unloaded, see `Module`.
    let library: &'static libloading::Library = Box::leak(Box::new(library));

    // Linux hosts call `ModuleEntry(dlopen handle)` before anything else (the SDK's
    // `linuxmain.cpp`); the handle is what `dlopen` returned.
    #[cfg(all(unix, not(target_os = "macos")))]
    let module_entry = {
        type ModuleEntry = unsafe extern "C" fn(*mut c_void) -> bool;
        // SAFETY: the signature is the SDK's `bool ModuleEntry(void*)`.
        let entry =
            unsafe { library.get::<ModuleEntry>(b"ModuleEntry\0") }.context("the library exports no ModuleEntry")?;
        let handle = {
            // A second `dlopen` of the same path only bumps the reference count and returns the
            // same handle; it is leaked like the first.
            // SAFETY: as above.
            let again = unsafe {
                libloading::os::unix::Library::open(
                    Some(&path),
                    libloading::os::unix::RTLD_LAZY | libloading::os::unix::RTLD_LOCAL,
                )
            }
            .with_context(|| format!("dlopen {} again", path.display()))?;
            again.into_raw()
        };
        // SAFETY: called once, before GetPluginFactory, with the module's handle.
        Some(unsafe { entry(handle) })
    };
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    let module_entry = None;

    // SAFETY: the signature is the SDK's `IPluginFactory* PLUGIN_API GetPluginFactory()`.
    let get_factory = *unsafe { library.get::<GetPluginFactory>(b"GetPluginFactory\0") }
        .context("the library exports no GetPluginFactory")?;
    Ok(Module { path, get_factory, module_entry })
}

/// Path of the loaded library (loads it on first use).
pub fn loaded_library_path() -> Result<PathBuf> {
    Ok(module()?.path.clone())
}

/// What `ModuleEntry` returned (`None` on platforms without it). Loads the library on first use.
pub fn module_entry_result() -> Result<Option<bool>> {
    Ok(module()?.module_entry)
}

// ---------------------------------------------------------------------------------------------
// Factory

/// `PFactoryInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FactoryInfo {
    /// Vendor.
    pub vendor: String,
    /// Vendor URL.
    pub url: String,
    /// Contact e-mail.
    pub email: String,
    /// `FactoryFlags` (`kUnicode` = 16, ...).
    pub flags: i32,
}

/// One class of the factory, merged from `PClassInfo`, `PClassInfo2` and `PClassInfoW`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassInfo {
    /// Class id (`TUID`) as bytes.
    pub cid: [u8; 16],
    /// `kManyInstances` = `0x7FFFFFFF` for nice-plug.
    pub cardinality: i32,
    /// `"Audio Module Class"` for an audio processor.
    pub category: String,
    /// Class name.
    pub name: String,
    /// From `IPluginFactory2`, if the factory has it.
    pub info2: Option<ClassInfo2>,
    /// From `IPluginFactory3` (UTF-16 strings), if the factory has it.
    pub info_w: Option<ClassInfo2>,
}

/// The `PClassInfo2` (or `PClassInfoW`) extras.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassInfo2 {
    /// Same as [`ClassInfo::name`], read from this struct.
    pub name: String,
    /// `ComponentFlags` (`kDistributable` = 1, `kSimpleModeSupported` = 2).
    pub class_flags: u32,
    /// Pipe-separated subcategories (`"Fx|EQ|Dynamics"`).
    pub sub_categories: String,
    /// Vendor.
    pub vendor: String,
    /// Version.
    pub version: String,
    /// SDK version the class claims (`"VST 3.6.14"` for nice-plug 0.4.2).
    pub sdk_version: String,
}

impl ClassInfo2 {
    /// The subcategories, split at `|`.
    pub fn sub_category_list(&self) -> Vec<&str> {
        self.sub_categories.split('|').filter(|s| !s.is_empty()).collect()
    }
}

/// The plugin factory (`IPluginFactory`, plus `IPluginFactory2`/`3` if the factory has them).
pub struct Factory {
    factory: ComPtr<IPluginFactory>,
    factory2: Option<ComPtr<IPluginFactory2>>,
    factory3: Option<ComPtr<IPluginFactory3>>,
}

impl Factory {
    /// Loads the library if needed and calls `GetPluginFactory()`.
    pub fn new() -> Result<Self> {
        let module = module()?;
        // SAFETY: the entry point returns an owned reference to the factory (or null).
        let raw = unsafe { (module.get_factory)() };
        // SAFETY: non-null results are `IPluginFactory*` with one reference for us.
        let factory =
            unsafe { ComPtr::from_raw(raw as *mut IPluginFactory) }.context("GetPluginFactory returned null")?;
        let factory2 = factory.cast::<IPluginFactory2>();
        let factory3 = factory.cast::<IPluginFactory3>();
        Ok(Self { factory, factory2, factory3 })
    }

    /// Whether the factory implements `IPluginFactory2` and `IPluginFactory3`.
    pub fn versions(&self) -> (bool, bool) {
        (self.factory2.is_some(), self.factory3.is_some())
    }

    /// `getFactoryInfo`.
    pub fn info(&self) -> Result<FactoryInfo> {
        // SAFETY: plain C struct, zero is a valid value.
        let mut info: PFactoryInfo = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid out pointer.
        check(unsafe { self.factory.getFactoryInfo(&mut info) }, "getFactoryInfo")?;
        Ok(FactoryInfo {
            vendor: c_chars(&info.vendor),
            url: c_chars(&info.url),
            email: c_chars(&info.email),
            flags: info.flags,
        })
    }

    /// `countClasses`.
    pub fn class_count(&self) -> i32 {
        // SAFETY: no arguments.
        unsafe { self.factory.countClasses() }
    }

    /// `getClassInfo` (+ `getClassInfo2`, `getClassInfoUnicode`) for one index.
    pub fn class(&self, index: i32) -> Result<ClassInfo> {
        // SAFETY (all three blocks): plain C structs, zero is valid; valid out pointers.
        let mut info: PClassInfo = unsafe { std::mem::zeroed() };
        check(unsafe { self.factory.getClassInfo(index, &mut info) }, "getClassInfo")?;
        let info2 = match &self.factory2 {
            Some(f) => {
                let mut i: PClassInfo2 = unsafe { std::mem::zeroed() };
                check(unsafe { f.getClassInfo2(index, &mut i) }, "getClassInfo2")?;
                Some(ClassInfo2 {
                    name: c_chars(&i.name),
                    class_flags: i.classFlags,
                    sub_categories: c_chars(&i.subCategories),
                    vendor: c_chars(&i.vendor),
                    version: c_chars(&i.version),
                    sdk_version: c_chars(&i.sdkVersion),
                })
            }
            None => None,
        };
        let info_w = match &self.factory3 {
            Some(f) => {
                let mut i: PClassInfoW = unsafe { std::mem::zeroed() };
                check(unsafe { f.getClassInfoUnicode(index, &mut i) }, "getClassInfoUnicode")?;
                Some(ClassInfo2 {
                    name: u16_chars(&i.name),
                    class_flags: i.classFlags,
                    sub_categories: c_chars(&i.subCategories),
                    vendor: u16_chars(&i.vendor),
                    version: u16_chars(&i.version),
                    sdk_version: u16_chars(&i.sdkVersion),
                })
            }
            None => None,
        };
        Ok(ClassInfo {
            cid: info.cid.map(|b| b as u8),
            cardinality: info.cardinality,
            category: c_chars(&info.category),
            name: c_chars(&info.name),
            info2,
            info_w,
        })
    }

    /// Every class, in index order.
    pub fn classes(&self) -> Result<Vec<ClassInfo>> {
        (0..self.class_count()).map(|i| self.class(i)).collect()
    }

    /// Raw `getClassInfo` result for an index (to probe out-of-range indices).
    pub fn class_info_result(&self, index: i32) -> tresult {
        // SAFETY: plain C struct; valid out pointer.
        let mut info: PClassInfo = unsafe { std::mem::zeroed() };
        unsafe { self.factory.getClassInfo(index, &mut info) }
    }

    /// `createInstance(cid, I::IID)`: the result code and the object, if any.
    pub fn create<I: Interface>(&self, cid: &[u8; 16]) -> (tresult, Option<ComPtr<I>>) {
        let mut obj: *mut c_void = ptr::null_mut();
        // SAFETY: `cid` and the IID are 16-byte ids, `obj` a valid out pointer.
        let result = unsafe {
            self.factory.createInstance(
                cid.as_ptr() as *const std::ffi::c_char,
                I::IID.as_ptr() as *const std::ffi::c_char,
                &mut obj,
            )
        };
        // SAFETY: on success `obj` is an owned `I*`; on failure it should be null, and anything
        // else is reported by the caller as `Some` with a failing result.
        let object = unsafe { ComPtr::from_raw(obj as *mut I) };
        (result, object)
    }
}

// ---------------------------------------------------------------------------------------------
// Host-side COM objects

/// How often the plugin called the host's `IHostApplication` and `IComponentHandler`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostCounts {
    /// `IHostApplication::getName`.
    pub get_name: u32,
    /// `IHostApplication::createInstance`.
    pub create_instance: u32,
    /// `IComponentHandler::beginEdit`.
    pub begin_edit: u32,
    /// `IComponentHandler::performEdit`.
    pub perform_edit: u32,
    /// `IComponentHandler::endEdit`.
    pub end_edit: u32,
    /// `IComponentHandler::restartComponent`.
    pub restart_component: u32,
}

/// The host context passed to `initialize`.
#[derive(Default)]
pub struct HostApplication {
    get_name: AtomicU32,
    create_instance: AtomicU32,
}

impl Class for HostApplication {
    type Interfaces = (IHostApplication,);
}

impl IHostApplicationTrait for HostApplication {
    unsafe fn getName(&self, name: *mut String128) -> tresult {
        self.get_name.fetch_add(1, Ordering::SeqCst);
        if name.is_null() {
            return kInvalidArgument;
        }
        // SAFETY: non-null, and the caller provides a String128.
        write_u16(HOST_NAME, unsafe { &mut *name });
        kResultOk
    }

    unsafe fn createInstance(&self, _cid: *mut TUID, _iid: *mut TUID, obj: *mut *mut c_void) -> tresult {
        self.create_instance.fetch_add(1, Ordering::SeqCst);
        if !obj.is_null() {
            // SAFETY: non-null out pointer.
            unsafe { *obj = ptr::null_mut() };
        }
        // No IMessage/IAttributeList: nice-plug's single component needs no host objects.
        kNotImplemented
    }
}

/// The `IComponentHandler` given to the controller. Only counts calls (some may come from
/// nice-plug's event-loop thread).
#[derive(Default)]
pub struct ComponentHandler {
    begin_edit: AtomicU32,
    perform_edit: AtomicU32,
    end_edit: AtomicU32,
    restart_component: AtomicU32,
}

impl Class for ComponentHandler {
    type Interfaces = (IComponentHandler,);
}

impl IComponentHandlerTrait for ComponentHandler {
    unsafe fn beginEdit(&self, _id: ParamID) -> tresult {
        self.begin_edit.fetch_add(1, Ordering::SeqCst);
        kResultOk
    }

    unsafe fn performEdit(&self, _id: ParamID, _value: ParamValue) -> tresult {
        self.perform_edit.fetch_add(1, Ordering::SeqCst);
        kResultOk
    }

    unsafe fn endEdit(&self, _id: ParamID) -> tresult {
        self.end_edit.fetch_add(1, Ordering::SeqCst);
        kResultOk
    }

    unsafe fn restartComponent(&self, _flags: int32) -> tresult {
        self.restart_component.fetch_add(1, Ordering::SeqCst);
        kResultOk
    }
}

/// An in-memory `IBStream`, like the SDK's `MemoryStream`: reads and writes at a position that
/// `seek` moves; writing past the end grows the buffer.
#[derive(Default)]
pub struct MemoryStream {
    data: RefCell<Vec<u8>>,
    position: Cell<usize>,
}

impl Class for MemoryStream {
    type Interfaces = (IBStream,);
}

impl MemoryStream {
    /// An empty stream.
    pub fn new() -> ComWrapper<Self> {
        ComWrapper::new(Self::default())
    }

    /// A stream holding `bytes`, positioned at `position`.
    pub fn with_bytes(bytes: &[u8], position: usize) -> ComWrapper<Self> {
        ComWrapper::new(Self { data: RefCell::new(bytes.to_vec()), position: Cell::new(position) })
    }

    /// The whole content.
    pub fn bytes(&self) -> Vec<u8> {
        self.data.borrow().clone()
    }

    /// The current position.
    pub fn position(&self) -> usize {
        self.position.get()
    }
}

impl IBStreamTrait for MemoryStream {
    unsafe fn read(&self, buffer: *mut c_void, num_bytes: int32, num_read: *mut int32) -> tresult {
        if buffer.is_null() || num_bytes < 0 {
            return kInvalidArgument;
        }
        let data = self.data.borrow();
        let start = self.position.get().min(data.len());
        let n = (num_bytes as usize).min(data.len() - start);
        // SAFETY: the caller provides `num_bytes` writable bytes; `n <= num_bytes`.
        unsafe { ptr::copy_nonoverlapping(data[start..].as_ptr(), buffer as *mut u8, n) };
        self.position.set(start + n);
        if !num_read.is_null() {
            // SAFETY: non-null out pointer.
            unsafe { *num_read = n as int32 };
        }
        kResultOk
    }

    unsafe fn write(&self, buffer: *mut c_void, num_bytes: int32, num_written: *mut int32) -> tresult {
        if buffer.is_null() || num_bytes < 0 {
            return kInvalidArgument;
        }
        let n = num_bytes as usize;
        let mut data = self.data.borrow_mut();
        let start = self.position.get();
        if data.len() < start + n {
            data.resize(start + n, 0);
        }
        // SAFETY: the caller provides `num_bytes` readable bytes.
        let src = unsafe { std::slice::from_raw_parts(buffer as *const u8, n) };
        data[start..start + n].copy_from_slice(src);
        self.position.set(start + n);
        if !num_written.is_null() {
            // SAFETY: non-null out pointer.
            unsafe { *num_written = n as int32 };
        }
        kResultOk
    }

    unsafe fn seek(&self, pos: int64, mode: int32, result: *mut int64) -> tresult {
        let len = self.data.borrow().len() as i64;
        let base = match mode {
            m if m == IStreamSeekMode_::kIBSeekSet as i32 => 0,
            m if m == IStreamSeekMode_::kIBSeekCur as i32 => self.position.get() as i64,
            m if m == IStreamSeekMode_::kIBSeekEnd as i32 => len,
            _ => return kInvalidArgument,
        };
        let Some(target) = base.checked_add(pos).filter(|&t| t >= 0) else {
            return kInvalidArgument;
        };
        self.position.set(target as usize);
        if !result.is_null() {
            // SAFETY: non-null out pointer.
            unsafe { *result = target };
        }
        kResultOk
    }

    unsafe fn tell(&self, pos: *mut int64) -> tresult {
        if pos.is_null() {
            return kInvalidArgument;
        }
        // SAFETY: non-null out pointer.
        unsafe { *pos = self.position.get() as int64 };
        kResultOk
    }
}

/// One parameter's points for one block (`IParamValueQueue`). The point storage is allocated
/// up front: `addPoint` refuses to grow it, since the plugin calls it from `process()`.
pub struct ParamValueQueue {
    id: Cell<ParamID>,
    points: RefCell<Vec<(i32, f64)>>,
}

impl Class for ParamValueQueue {
    type Interfaces = (IParamValueQueue,);
}

impl ParamValueQueue {
    fn with_capacity(points: usize) -> Self {
        Self { id: Cell::new(0), points: RefCell::new(Vec::with_capacity(points)) }
    }

    fn push(&self, offset: i32, value: f64) -> Option<i32> {
        let mut points = self.points.borrow_mut();
        if points.len() == points.capacity() {
            return None;
        }
        points.push((offset, value));
        Some(points.len() as i32 - 1)
    }
}

impl IParamValueQueueTrait for ParamValueQueue {
    unsafe fn getParameterId(&self) -> ParamID {
        self.id.get()
    }

    unsafe fn getPointCount(&self) -> int32 {
        self.points.borrow().len() as int32
    }

    unsafe fn getPoint(&self, index: int32, offset: *mut int32, value: *mut ParamValue) -> tresult {
        let points = self.points.borrow();
        let Some(&(o, v)) = usize::try_from(index).ok().and_then(|i| points.get(i)) else {
            return kInvalidArgument;
        };
        if offset.is_null() || value.is_null() {
            return kInvalidArgument;
        }
        // SAFETY: non-null out pointers.
        unsafe {
            *offset = o;
            *value = v;
        }
        kResultOk
    }

    unsafe fn addPoint(&self, offset: int32, value: ParamValue, index: *mut int32) -> tresult {
        match self.push(offset, value) {
            Some(i) => {
                if !index.is_null() {
                    // SAFETY: non-null out pointer.
                    unsafe { *index = i };
                }
                kResultOk
            }
            None => kResultFalse,
        }
    }
}

/// `IParameterChanges` for one block: a fixed pool of queues, of which the first `used` are
/// live. Used for the input changes the host sends and for the output changes a plugin may
/// report. Nothing here allocates once built.
pub struct ParameterChanges {
    pool: Vec<ComWrapper<ParamValueQueue>>,
    used: Cell<usize>,
}

impl Class for ParameterChanges {
    type Interfaces = (IParameterChanges,);
}

impl ParameterChanges {
    /// Room for `queues` parameters with up to `points` points each.
    pub fn with_capacity(queues: usize, points: usize) -> Self {
        Self {
            pool: (0..queues).map(|_| ComWrapper::new(ParamValueQueue::with_capacity(points))).collect(),
            used: Cell::new(0),
        }
    }

    /// Empties every queue (keeps the storage).
    pub fn clear(&self) {
        for queue in &self.pool[..self.used.get()] {
            queue.points.borrow_mut().clear();
        }
        self.used.set(0);
    }

    /// Index of the queue for `id`, taking a new one from the pool if needed.
    fn queue_for(&self, id: ParamID) -> Option<usize> {
        let used = self.used.get();
        if let Some(i) = self.pool[..used].iter().position(|q| q.id.get() == id) {
            return Some(i);
        }
        let queue = self.pool.get(used)?;
        queue.id.set(id);
        queue.points.borrow_mut().clear();
        self.used.set(used + 1);
        Some(used)
    }

    /// Adds a point (host side). Points of one parameter must be added in time order.
    pub fn add(&self, id: ParamID, offset: i32, value: f64) -> Result<()> {
        let index = self.queue_for(id).context("parameter change pool exhausted")?;
        self.pool[index].push(offset, value).context("parameter point pool exhausted")?;
        Ok(())
    }

    /// The live queues as `(id, points)`.
    pub fn snapshot(&self) -> Vec<(ParamID, Vec<(i32, f64)>)> {
        self.pool[..self.used.get()].iter().map(|q| (q.id.get(), q.points.borrow().clone())).collect()
    }
}

impl IParameterChangesTrait for ParameterChanges {
    unsafe fn getParameterCount(&self) -> int32 {
        self.used.get() as int32
    }

    unsafe fn getParameterData(&self, index: int32) -> *mut IParamValueQueue {
        match usize::try_from(index) {
            Ok(i) if i < self.used.get() => {
                self.pool[i].as_com_ref::<IParamValueQueue>().map_or(ptr::null_mut(), |r| r.as_ptr())
            }
            _ => ptr::null_mut(),
        }
    }

    unsafe fn addParameterData(&self, id: *const ParamID, index: *mut int32) -> *mut IParamValueQueue {
        if id.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: non-null pointer to the id.
        match self.queue_for(unsafe { *id }) {
            Some(i) => {
                if !index.is_null() {
                    // SAFETY: non-null out pointer.
                    unsafe { *index = i as int32 };
                }
                self.pool[i].as_com_ref::<IParamValueQueue>().map_or(ptr::null_mut(), |r| r.as_ptr())
            }
            None => ptr::null_mut(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The host

/// One parameter as `IEditController::getParameterInfo` describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamInfo {
    /// Index in the list.
    pub index: i32,
    /// `ParamID` (nice-plug's hash of the string id).
    pub id: u32,
    /// Title.
    pub title: String,
    /// Short title.
    pub short_title: String,
    /// Unit suffix (`" dB"`), empty when the text includes it.
    pub units: String,
    /// 0 for continuous, otherwise the number of steps (1 for a toggle).
    pub step_count: i32,
    /// Default, normalized.
    pub default_normalized: f64,
    /// `IUnitInfo` unit the parameter belongs to.
    pub unit_id: i32,
    /// `ParameterFlags`.
    pub flags: i32,
}

impl ParamInfo {
    /// `kIsBypass`.
    pub fn is_bypass(&self) -> bool {
        self.flags & ParameterFlags_::kIsBypass != 0
    }

    /// `kCanAutomate`.
    pub fn can_automate(&self) -> bool {
        self.flags & ParameterFlags_::kCanAutomate != 0
    }

    /// `kIsHidden`.
    pub fn is_hidden(&self) -> bool {
        self.flags & ParameterFlags_::kIsHidden != 0
    }

    /// `kIsReadOnly`.
    pub fn is_read_only(&self) -> bool {
        self.flags & ParameterFlags_::kIsReadOnly != 0
    }
}

/// One `IUnitInfo` unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unit {
    /// Unit id (0 = root).
    pub id: i32,
    /// Parent unit id (-1 for the root).
    pub parent: i32,
    /// Name.
    pub name: String,
}

/// `IComponent::getBusInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bus {
    /// Channels.
    pub channels: i32,
    /// Name.
    pub name: String,
    /// `kMain` = 0, `kAux` = 1.
    pub bus_type: i32,
    /// `BusFlags` (`kDefaultActive` = 1).
    pub flags: u32,
}

/// One `process()` call made by [`Vst3Host::process`].
#[derive(Clone, Copy, Debug)]
pub struct BlockStat {
    /// Frames in the block.
    pub frames: usize,
    /// Parameter points sent with the block.
    pub param_points: usize,
    /// Wall time inside the plugin's `process()`.
    pub elapsed: Duration,
    /// What `process()` returned.
    pub result: tresult,
}

/// Result of [`Vst3Host::process`].
#[derive(Clone, Debug)]
pub struct Processed {
    /// Output audio, one `Vec` per channel, as long as the input.
    pub output: Vec<Vec<f32>>,
    /// One entry per `process()` call, in order.
    pub blocks: Vec<BlockStat>,
    /// Parameter points the plugin reported in `outputParameterChanges`, over all blocks.
    pub output_param_points: usize,
}

/// How [`Vst3Host::process`] lays out the audio buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Buffers {
    /// Separate input and output buffers (the output is poisoned with NaN before each block).
    Separate,
    /// The output channel pointers are the input's (in-place processing, as many hosts do).
    InPlace,
}

/// A loaded and initialized AudioCollab Assistant, driven like a VST3 DAW would. See the
/// module docs.
pub struct Vst3Host {
    /// The interfaces are released in `Drop`, the component last.
    processor: Option<ComPtr<IAudioProcessor>>,
    unit_info: Option<ComPtr<IUnitInfo>>,
    controller: Option<ComPtr<IEditController>>,
    component: Option<ComPtr<IComponent>>,
    /// Whether the controller is the component (single-component plugin).
    single_component: bool,
    /// What `getControllerClassId` returned.
    controller_class_id_result: tresult,
    host_app: ComWrapper<HostApplication>,
    handler: ComWrapper<ComponentHandler>,
    param_list: Vec<ParamInfo>,
    /// Set while active.
    sample_rate: f64,
    max_block: usize,
    channels: usize,
    active: bool,
    processing: bool,
    /// Samples processed since activation (`ProcessContext::projectTimeSamples`).
    position: i64,
    /// Keeps the type `!Send`: the creating thread is the plugin's main thread.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Vst3Host {
    /// Loads the library, creates the [`PLUGIN_NAME`] component and initializes it and its
    /// controller. See the module docs.
    pub fn new() -> Result<Self> {
        let factory = Factory::new()?;
        let classes = factory.classes()?;
        let class = classes
            .iter()
            .find(|c| c.category == AUDIO_MODULE_CLASS && c.name == PLUGIN_NAME)
            .with_context(|| format!("no {PLUGIN_NAME:?} audio class in {classes:?}"))?;

        let (result, component) = factory.create::<IComponent>(&class.cid);
        check(result, "createInstance(IComponent)")?;
        let component = component.context("createInstance returned kResultOk and null")?;

        let host_app = ComWrapper::new(HostApplication::default());
        let handler = ComWrapper::new(ComponentHandler::default());
        let context = host_app.as_com_ref::<FUnknown>().context("host application has no FUnknown")?.as_ptr();
        // SAFETY: the context outlives the component (both owned by this struct, and the
        // component is terminated before either is dropped).
        check(unsafe { component.initialize(context) }, "IComponent::initialize")?;

        let mut host = Self {
            processor: None,
            unit_info: None,
            controller: None,
            component: Some(component),
            single_component: false,
            controller_class_id_result: kResultOk,
            host_app,
            handler,
            param_list: Vec::new(),
            sample_rate: 0.0,
            max_block: 0,
            channels: 0,
            active: false,
            processing: false,
            position: 0,
            _not_send: std::marker::PhantomData,
        };
        // From here on, `Drop` terminates whatever was set up.
        let component = host.component();

        // The edit controller: the component itself, or a separate class.
        let mut controller_cid: TUID = [0; 16];
        // SAFETY: valid out pointer.
        host.controller_class_id_result = unsafe { component.getControllerClassId(&mut controller_cid) };
        if let Some(controller) = component.cast::<IEditController>() {
            host.single_component = true;
            host.controller = Some(controller);
        } else {
            check(host.controller_class_id_result, "getControllerClassId")?;
            let cid = controller_cid.map(|b| b as u8);
            let (result, controller) = factory.create::<IEditController>(&cid);
            check(result, "createInstance(IEditController)")?;
            let controller = controller.context("no controller")?;
            // SAFETY: as for the component.
            check(unsafe { controller.initialize(context) }, "IEditController::initialize")?;
            host.controller = Some(controller);
        }
        let controller = host.controller();
        let handler_ptr =
            host.handler.as_com_ref::<IComponentHandler>().context("handler has no IComponentHandler")?.as_ptr();
        // SAFETY: the handler outlives the controller's use of it (reset to null in `Drop`).
        check(unsafe { controller.setComponentHandler(handler_ptr) }, "setComponentHandler")?;

        host.processor = Some(component.cast::<IAudioProcessor>().context("the component has no IAudioProcessor")?);
        host.unit_info = controller.cast::<IUnitInfo>();
        host.param_list = host.read_param_list()?;
        Ok(host)
    }

    fn component(&self) -> ComPtr<IComponent> {
        self.component.clone().expect("component alive")
    }

    fn controller(&self) -> ComPtr<IEditController> {
        self.controller.clone().expect("controller alive")
    }

    fn processor(&self) -> &ComPtr<IAudioProcessor> {
        self.processor.as_ref().expect("processor alive")
    }

    /// The component's `IComponent` (for probes the harness has no method for).
    pub fn raw_component(&self) -> ComPtr<IComponent> {
        self.component()
    }

    /// The `IEditController`.
    pub fn raw_controller(&self) -> ComPtr<IEditController> {
        self.controller()
    }

    /// Whether the controller is the component object itself.
    pub fn is_single_component(&self) -> bool {
        self.single_component
    }

    /// What `IComponent::getControllerClassId` returned.
    pub fn controller_class_id_result(&self) -> tresult {
        self.controller_class_id_result
    }

    /// How often the plugin called back into the host.
    pub fn host_counts(&self) -> HostCounts {
        let h = &self.handler;
        HostCounts {
            get_name: self.host_app.get_name.load(Ordering::SeqCst),
            create_instance: self.host_app.create_instance.load(Ordering::SeqCst),
            begin_edit: h.begin_edit.load(Ordering::SeqCst),
            perform_edit: h.perform_edit.load(Ordering::SeqCst),
            end_edit: h.end_edit.load(Ordering::SeqCst),
            restart_component: h.restart_component.load(Ordering::SeqCst),
        }
    }

    /// The host context's own `getName`, called directly (checks the host object, not the
    /// plugin).
    pub fn host_name(&self) -> Result<String> {
        let app = self.host_app.to_com_ptr::<IHostApplication>().context("IHostApplication")?;
        let mut name: String128 = [0; 128];
        // SAFETY: valid out pointer.
        check(unsafe { app.getName(&mut name) }, "getName")?;
        Ok(u16_chars(&name))
    }

    /// Reads `getParameterCount` and `getParameterInfo(0..count)`.
    pub fn read_param_list(&self) -> Result<Vec<ParamInfo>> {
        let controller = self.controller();
        // SAFETY: no arguments.
        let count = unsafe { controller.getParameterCount() };
        ensure!(count >= 0, "negative parameter count {count}");
        let mut list = Vec::with_capacity(count as usize);
        // Only 0..count: nice-plug 0.4.2 accepts index == count and aborts (see module docs).
        for index in 0..count {
            // SAFETY: plain C struct; valid out pointer.
            let mut info: ParameterInfo = unsafe { std::mem::zeroed() };
            check(unsafe { controller.getParameterInfo(index, &mut info) }, &format!("getParameterInfo({index})"))?;
            list.push(ParamInfo {
                index,
                id: info.id,
                title: u16_chars(&info.title),
                short_title: u16_chars(&info.shortTitle),
                units: u16_chars(&info.units),
                step_count: info.stepCount,
                default_normalized: info.defaultNormalizedValue,
                unit_id: info.unitId,
                flags: info.flags,
            });
        }
        Ok(list)
    }

    /// The parameter list read at creation.
    pub fn params(&self) -> &[ParamInfo] {
        &self.param_list
    }

    /// The parameter whose nice-plug string id is `string_id`.
    pub fn param(&self, string_id: &str) -> Result<&ParamInfo> {
        let id = crate::clap_host::clap_param_id(string_id);
        self.param_list
            .iter()
            .find(|p| p.id == id)
            .with_context(|| format!("no parameter {string_id:?} (ParamID {id})"))
    }

    /// `ParamID` of a string id, checked against the list.
    pub fn param_id(&self, string_id: &str) -> Result<u32> {
        self.param(string_id).map(|p| p.id)
    }

    /// `getParamNormalized`.
    pub fn normalized(&self, id: u32) -> f64 {
        // SAFETY: plain arguments.
        unsafe { self.controller().getParamNormalized(id) }
    }

    /// `getParamNormalized` for every parameter, in list order.
    pub fn normalized_values(&self) -> Vec<(u32, f64)> {
        self.param_list.iter().map(|p| (p.id, self.normalized(p.id))).collect()
    }

    /// `setParamNormalized` (what a host does for a GUI-less edit or after loading state).
    pub fn set_normalized(&self, id: u32, value: f64) -> tresult {
        // SAFETY: plain arguments.
        unsafe { self.controller().setParamNormalized(id, value) }
    }

    /// `getParamStringByValue`.
    pub fn value_string(&self, id: u32, normalized: f64) -> Result<String> {
        let mut text: String128 = [0; 128];
        // SAFETY: valid out pointer.
        check(
            unsafe { self.controller().getParamStringByValue(id, normalized, &mut text) },
            &format!("getParamStringByValue({id}, {normalized})"),
        )?;
        Ok(u16_chars(&text))
    }

    /// `getParamValueByString`: the result code and the normalized value.
    pub fn value_from_string(&self, id: u32, text: &str) -> (tresult, f64) {
        let mut wide: Vec<TChar> = text.encode_utf16().collect();
        wide.push(0);
        let mut value = f64::NAN;
        // SAFETY: NUL-terminated string, valid out pointer.
        let result = unsafe { self.controller().getParamValueByString(id, wide.as_mut_ptr(), &mut value) };
        (result, value)
    }

    /// `normalizedParamToPlain`.
    pub fn to_plain(&self, id: u32, normalized: f64) -> f64 {
        // SAFETY: plain arguments.
        unsafe { self.controller().normalizedParamToPlain(id, normalized) }
    }

    /// `plainParamToNormalized`.
    pub fn to_normalized(&self, id: u32, plain: f64) -> f64 {
        // SAFETY: plain arguments.
        unsafe { self.controller().plainParamToNormalized(id, plain) }
    }

    /// The `IUnitInfo` units (empty if the controller has no `IUnitInfo`).
    pub fn units(&self) -> Result<Vec<Unit>> {
        let Some(unit_info) = &self.unit_info else {
            return Ok(Vec::new());
        };
        // SAFETY: no arguments.
        let count = unsafe { unit_info.getUnitCount() };
        (0..count)
            .map(|i| {
                // SAFETY: plain C struct; valid out pointer.
                let mut info: UnitInfo = unsafe { std::mem::zeroed() };
                check(unsafe { unit_info.getUnitInfo(i, &mut info) }, &format!("getUnitInfo({i})"))?;
                Ok(Unit { id: info.id, parent: info.parentUnitId, name: u16_chars(&info.name) })
            })
            .collect()
    }

    /// `getBusCount(kAudio | kEvent, kInput | kOutput)`.
    pub fn bus_count(&self, audio: bool, input: bool) -> i32 {
        let (media, dir) = media_dir(audio, input);
        // SAFETY: plain arguments.
        unsafe { self.component().getBusCount(media, dir) }
    }

    /// `getBusInfo` for an audio bus.
    pub fn audio_bus(&self, input: bool, index: i32) -> Result<Bus> {
        let (media, dir) = media_dir(true, input);
        // SAFETY: plain C struct; valid out pointer.
        let mut info: BusInfo = unsafe { std::mem::zeroed() };
        check(
            unsafe { self.component().getBusInfo(media, dir, index, &mut info) },
            &format!("getBusInfo(audio, input={input}, {index})"),
        )?;
        Ok(Bus { channels: info.channelCount, name: u16_chars(&info.name), bus_type: info.busType, flags: info.flags })
    }

    /// `setBusArrangements` with one main input and one main output bus.
    pub fn set_bus_arrangements(&self, input: SpeakerArrangement, output: SpeakerArrangement) -> tresult {
        let mut inputs = [input];
        let mut outputs = [output];
        // SAFETY: arrays of the given lengths.
        unsafe { self.processor().setBusArrangements(inputs.as_mut_ptr(), 1, outputs.as_mut_ptr(), 1) }
    }

    /// `getBusArrangement` of the main input or output bus.
    pub fn bus_arrangement(&self, input: bool) -> Result<SpeakerArrangement> {
        let (_, dir) = media_dir(true, input);
        let mut arrangement: SpeakerArrangement = 0;
        // SAFETY: valid out pointer.
        check(unsafe { self.processor().getBusArrangement(dir, 0, &mut arrangement) }, "getBusArrangement")?;
        Ok(arrangement)
    }

    /// `canProcessSampleSize(kSample32 | kSample64)`.
    pub fn can_process_sample_size(&self, double: bool) -> tresult {
        let size = if double { SymbolicSampleSizes_::kSample64 } else { SymbolicSampleSizes_::kSample32 } as i32;
        // SAFETY: plain argument.
        unsafe { self.processor().canProcessSampleSize(size) }
    }

    /// `getLatencySamples`.
    pub fn latency_samples(&self) -> u32 {
        // SAFETY: no arguments.
        unsafe { self.processor().getLatencySamples() }
    }

    /// `getTailSamples`.
    pub fn tail_samples(&self) -> u32 {
        // SAFETY: no arguments.
        unsafe { self.processor().getTailSamples() }
    }

    /// `setBusArrangements` (mono or stereo in and out), `setupProcessing(kRealtime, kSample32,
    /// max_block, sample_rate)` and `setActive(true)`. Processing starts on the first
    /// [`Self::process`] call.
    pub fn activate(&mut self, sample_rate: f64, max_block: usize, channels: usize) -> Result<()> {
        ensure!(!self.active, "already active");
        ensure!(max_block >= 1, "max_block must be at least 1");
        let arrangement = match channels {
            1 => SpeakerArr::kMono,
            2 => SpeakerArr::kStereo,
            n => bail!("{n} channels: only mono and stereo"),
        };
        check(self.set_bus_arrangements(arrangement, arrangement), "setBusArrangements")?;
        let mut setup = ProcessSetup {
            processMode: ProcessModes_::kRealtime as i32,
            symbolicSampleSize: SymbolicSampleSizes_::kSample32 as i32,
            maxSamplesPerBlock: i32::try_from(max_block).context("max_block")?,
            sampleRate: sample_rate,
        };
        // SAFETY: valid pointer.
        check(unsafe { self.processor().setupProcessing(&mut setup) }, "setupProcessing")?;
        // SAFETY: plain argument.
        check(unsafe { self.component().setActive(1) }, "setActive(true)")?;
        self.active = true;
        self.sample_rate = sample_rate;
        self.max_block = max_block;
        self.channels = channels;
        self.position = 0;
        Ok(())
    }

    /// Whether the component is active.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// `setProcessing(false)` (on an audio thread) if processing, then `setActive(false)`.
    pub fn deactivate(&mut self) -> Result<()> {
        if self.processing {
            let processor = self.processor();
            // SAFETY: plain argument.
            let result = on_audio_thread(move || unsafe { processor.setProcessing(0) });
            self.processing = false;
            check(result, "setProcessing(false)")?;
        }
        if self.active {
            self.active = false;
            // SAFETY: plain argument.
            check(unsafe { self.component().setActive(0) }, "setActive(false)")?;
        }
        Ok(())
    }

    /// Processes `input` (one slice per channel, all the same length) on an audio thread, cut
    /// into blocks whose sizes cycle through `block_sizes` (the last block is shortened), with
    /// `changes` delivered through `inputParameterChanges` in the block containing them, at
    /// their offset in that block. The first call after [`Self::activate`] calls
    /// `setProcessing(true)` first (on the audio thread). The plugin's state carries over between
    /// calls.
    ///
    /// Fails if a block's `process()` does not return `kResultOk`.
    pub fn process<S: AsRef<[f32]> + Sync>(
        &mut self,
        input: &[S],
        block_sizes: &[usize],
        changes: &[ParamChange],
        buffers: Buffers,
    ) -> Result<Processed> {
        ensure!(self.active, "process() before activate()");
        let (frames, changes) = check_process(input, self.channels, block_sizes, self.max_block, changes)?;

        let job = Job {
            input,
            block_sizes,
            changes: &changes,
            buffers,
            max_block: self.max_block,
            sample_rate: self.sample_rate,
            position: self.position,
            start_processing: !self.processing,
        };
        let processor = self.processor();
        let (result, started) = on_audio_thread(move || job.run(processor));
        self.processing |= started;
        self.position += frames as i64;
        result
    }

    /// `IComponent::getState` into a [`MemoryStream`]; returns the bytes written.
    pub fn get_state(&self) -> Result<Vec<u8>> {
        let stream = MemoryStream::new();
        let ptr = stream.as_com_ref::<IBStream>().context("IBStream")?.as_ptr();
        // SAFETY: the stream outlives the call.
        check(unsafe { self.component().getState(ptr) }, "getState")?;
        Ok(stream.bytes())
    }

    /// `IComponent::setState` from `bytes` (stream positioned at 0).
    pub fn set_state(&self, bytes: &[u8]) -> tresult {
        self.set_state_stream(&MemoryStream::with_bytes(bytes, 0))
    }

    /// `IComponent::setState` from a stream as it is (a host may have read a header before).
    pub fn set_state_stream(&self, stream: &ComWrapper<MemoryStream>) -> tresult {
        let Some(stream) = stream.as_com_ref::<IBStream>() else {
            return kInvalidArgument;
        };
        // SAFETY: the stream outlives the call.
        unsafe { self.component().setState(stream.as_ptr()) }
    }

    /// `IEditController::setComponentState` with the same bytes, as hosts do after loading the
    /// component state into a separate controller.
    pub fn set_component_state_on_controller(&self, bytes: &[u8]) -> tresult {
        let stream = MemoryStream::with_bytes(bytes, 0);
        let Some(stream) = stream.as_com_ref::<IBStream>() else {
            return kInvalidArgument;
        };
        // SAFETY: the stream outlives the call.
        unsafe { self.controller().setComponentState(stream.as_ptr()) }
    }
}

fn media_dir(audio: bool, input: bool) -> (i32, i32) {
    let media = if audio { MediaTypes_::kAudio } else { MediaTypes_::kEvent } as i32;
    let dir = if input { BusDirections_::kInput } else { BusDirections_::kOutput } as i32;
    (media, dir)
}

impl Drop for Vst3Host {
    fn drop(&mut self) {
        // Skip the calls while unwinding from a panic inside the plugin: its locks may be
        // poisoned. The references are still released below.
        if !std::thread::panicking() {
            // setProcessing(false), setActive(false).
            let _ = self.deactivate();
            if let Some(controller) = &self.controller {
                // SAFETY: null clears the handler.
                unsafe { controller.setComponentHandler(ptr::null_mut()) };
                if !self.single_component {
                    // SAFETY: no arguments.
                    unsafe { controller.terminate() };
                }
            }
            if let Some(component) = &self.component {
                // SAFETY: no arguments.
                unsafe { component.terminate() };
            }
        }
        // Release every interface pointer; the component goes last.
        self.processor = None;
        self.unit_info = None;
        self.controller = None;
        self.component = None;
    }
}

/// One [`Vst3Host::process`] call, run on the audio thread.
struct Job<'a, S> {
    input: &'a [S],
    block_sizes: &'a [usize],
    changes: &'a [ParamChange],
    buffers: Buffers,
    max_block: usize,
    sample_rate: f64,
    position: i64,
    start_processing: bool,
}

impl<S: AsRef<[f32]>> Job<'_, S> {
    /// Returns the result and whether `setProcessing(true)` was called successfully.
    ///
    /// Everything the plugin may touch is allocated before the first block: buffers, the
    /// parameter-change pools, the process context.
    fn run(self, processor: &ComPtr<IAudioProcessor>) -> (Result<Processed>, bool) {
        let mut started = false;
        if self.start_processing {
            // SAFETY: plain argument.
            let result = unsafe { processor.setProcessing(1) };
            if result != kResultOk {
                return (Err(anyhow!("setProcessing(true) returned {result} ({})", result_name(result))), false);
            }
            started = true;
        }
        (self.blocks(processor), started)
    }

    fn blocks(&self, processor: &ComPtr<IAudioProcessor>) -> Result<Processed> {
        let channels = self.input.len();
        let frames = self.input[0].as_ref().len();
        let mut input_scratch = vec![vec![0.0f32; self.max_block]; channels];
        let mut output_scratch = vec![vec![0.0f32; self.max_block]; channels];
        let mut input_ptrs: Vec<*mut f32> = input_scratch.iter_mut().map(|c| c.as_mut_ptr()).collect();
        let mut output_ptrs: Vec<*mut f32> = match self.buffers {
            Buffers::Separate => output_scratch.iter_mut().map(|c| c.as_mut_ptr()).collect(),
            Buffers::InPlace => input_ptrs.clone(),
        };
        let mut output = vec![Vec::with_capacity(frames); channels];
        let most_points = self.changes.len().max(1);
        let input_changes = ComWrapper::new(ParameterChanges::with_capacity(64, most_points));
        let output_changes = ComWrapper::new(ParameterChanges::with_capacity(64, 64));
        let input_changes_ptr = input_changes.as_com_ref::<IParameterChanges>().context("IParameterChanges")?.as_ptr();
        let output_changes_ptr =
            output_changes.as_com_ref::<IParameterChanges>().context("IParameterChanges")?.as_ptr();
        // SAFETY: plain C struct, zero is valid.
        let mut context: ProcessContext = unsafe { std::mem::zeroed() };
        // The enum constants are `c_uint` here but `c_int` on Windows.
        #[allow(clippy::unnecessary_cast)]
        {
            context.state = (kPlaying | kTempoValid | kTimeSigValid | kProjectTimeMusicValid) as u32;
        }
        context.sampleRate = self.sample_rate;
        context.tempo = 120.0;
        context.timeSigNumerator = 4;
        context.timeSigDenominator = 4;
        let plan = cut_into_blocks(frames, self.block_sizes, self.changes);
        let mut blocks = Vec::with_capacity(plan.len());
        let mut output_param_points = 0;

        let mut position = self.position;
        for (range, block_changes) in plan {
            let (start, n) = (range.start, range.len());
            for (scratch, channel) in input_scratch.iter_mut().zip(self.input) {
                scratch[..n].copy_from_slice(&channel.as_ref()[start..start + n]);
            }
            if self.buffers == Buffers::Separate {
                // Poison the output so a plugin that leaves it untouched is noticed.
                for scratch in &mut output_scratch {
                    scratch[..n].fill(f32::NAN);
                }
            }
            input_changes.clear();
            output_changes.clear();
            for change in block_changes {
                let offset = i32::try_from(change.time - start).context("offset")?;
                input_changes.add(change.id, offset, change.value)?;
            }
            context.projectTimeSamples = position;
            context.continousTimeSamples = position;
            context.projectTimeMusic = position as f64 / self.sample_rate * context.tempo / 60.0;

            let mut inputs = AudioBusBuffers {
                numChannels: channels as i32,
                silenceFlags: 0,
                __field0: AudioBusBuffers__type0 { channelBuffers32: input_ptrs.as_mut_ptr() },
            };
            let mut outputs = AudioBusBuffers {
                numChannels: channels as i32,
                silenceFlags: 0,
                __field0: AudioBusBuffers__type0 { channelBuffers32: output_ptrs.as_mut_ptr() },
            };
            let mut data = ProcessData {
                processMode: ProcessModes_::kRealtime as i32,
                symbolicSampleSize: SymbolicSampleSizes_::kSample32 as i32,
                numSamples: n as i32,
                numInputs: 1,
                numOutputs: 1,
                inputs: &mut inputs,
                outputs: &mut outputs,
                inputParameterChanges: input_changes_ptr,
                outputParameterChanges: output_changes_ptr,
                inputEvents: ptr::null_mut(),
                outputEvents: ptr::null_mut(),
                processContext: &mut context,
            };
            let started = Instant::now();
            // SAFETY: every pointer in `data` is valid for the call and the buffers hold at
            // least `n` frames.
            let result = unsafe { processor.process(&mut data) };
            let elapsed = started.elapsed();
            ensure!(
                result == kResultOk,
                "process() of block {} ({n} frames at {start}) returned {result} ({})",
                blocks.len(),
                result_name(result)
            );

            let written = match self.buffers {
                Buffers::Separate => &output_scratch,
                Buffers::InPlace => &input_scratch,
            };
            for (out, scratch) in output.iter_mut().zip(written) {
                out.extend_from_slice(&scratch[..n]);
            }
            output_param_points += output_changes.snapshot().iter().map(|(_, p)| p.len()).sum::<usize>();
            blocks.push(BlockStat { frames: n, param_points: block_changes.len(), elapsed, result });
            position += n as i64;
        }
        // Keep the pointer tables alive (and unmoved) until the last block is done.
        drop((input_ptrs, output_ptrs));
        Ok(Processed { output, blocks, output_param_points })
    }
}
