"""Loading platform plugins from the ``kw_platform`` entry points through pluggy."""
import logging
from dataclasses import dataclass, field
from importlib.metadata import entry_points

import pluggy

from kw_crm import platform as hookspecs

log = logging.getLogger("host_stub.plugins")


@dataclass
class LoadedPlugins:
    manager: pluggy.PluginManager
    errors: dict[str, str] = field(default_factory=dict)  # plugin name -> why it did not load


def load_plugins(disabled: set[str] = frozenset()) -> LoadedPlugins:
    """Build the plugin manager and import every entry point; a plugin that fails to import is
    reported by name and skipped, never taking the host down."""
    pm = pluggy.PluginManager("kw_platform")
    pm.add_hookspecs(hookspecs)
    loaded = LoadedPlugins(pm)
    for ep in entry_points(group="kw_platform"):
        if ep.name in disabled or pm.has_plugin(ep.name):
            continue
        try:
            pm.register(ep.load(), name=ep.name)
        except Exception as exc:  # noqa: BLE001 - any failure of a third-party plugin
            _report(loaded, ep.name, exc)
    for impl in pm.hook.platform_add_hookspecs.get_hookimpls():
        _call_isolated(loaded, impl, plugin_manager=pm)
    return loaded


def init_plugins(loaded: LoadedPlugins, app) -> None:
    """Run each plugin's ``platform_init_app`` on its own, so one broken plugin is unregistered
    and reported while the others (and the host) keep working."""
    for impl in loaded.manager.hook.platform_init_app.get_hookimpls():
        _call_isolated(loaded, impl, app=app, plugin_manager=loaded.manager)


def _call_isolated(loaded: LoadedPlugins, impl, **kwargs) -> None:
    try:
        impl.function(**{name: kwargs[name] for name in impl.argnames})
    except Exception as exc:  # noqa: BLE001
        _report(loaded, impl.plugin_name, exc)
        loaded.manager.unregister(impl.plugin)


def _report(loaded: LoadedPlugins, name: str, exc: Exception) -> None:
    loaded.errors[name] = f"{type(exc).__name__}: {exc}"
    log.error("plugin %r failed to load and is disabled: %s", name, loaded.errors[name])
