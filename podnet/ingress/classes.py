"""Which controller takes which Ingress, decided as ingress-nginx decides it.

``GetIngressClass`` in ingress-nginx's ``internal/ingress/controller/store/store.go``, in order:
``spec.ingressClassName`` names an IngressClass the controller knows (its ``spec.controller`` is
the controller's ``--controller-class``, or, with ``--ingress-class-by-name``, its name is the
``--ingress-class``); else the legacy ``kubernetes.io/ingress.class`` annotation must equal
``--ingress-class``; else the Ingress is ignored unless ``--watch-ingress-without-class``.
Before any of that, the API server's DefaultIngressClass admission plugin gives an Ingress
created with neither field nor annotation the class annotated
``ingressclass.kubernetes.io/is-default-class: "true"`` (and refuses it when two are).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from podnet.errors import SourceRef
from podnet.ingress.controllers import Controller
from podnet.model.cluster import Cluster
from podnet.model.objects import Ingress

LEGACY_ANNOTATION = "kubernetes.io/ingress.class"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"


@dataclass(frozen=True, slots=True)
class IngressClass:
    name: str
    controller: str
    default: bool
    source: SourceRef
    synthesised: bool = False


@dataclass(frozen=True, slots=True)
class Admitted:
    """An Ingress as the API server stores it: its class, after the admission plugin."""

    ingress: Ingress
    class_name: str  # spec.ingressClassName after defaulting ("" = none)
    defaulted: bool = False
    rejected: str = ""  # why the API server would refuse to create it


def read_classes(cluster: Cluster) -> tuple[IngressClass, ...]:
    out = []
    for o in cluster.configs:
        if o.kind != "IngressClass":
            continue
        spec = o.body.get("spec") or {}
        meta = o.body.get("metadata") or {}
        annotations = meta.get("annotations") or {}
        controller = spec.get("controller", "") if isinstance(spec, Mapping) else ""
        default = (isinstance(annotations, Mapping)
                   and str(annotations.get(DEFAULT_CLASS_ANNOTATION, "")) == "true")
        out.append(IngressClass(o.name, str(controller or ""), default, o.source))
    return tuple(sorted(out, key=lambda c: c.name))


def stand_in_class(controller: Controller) -> IngressClass:
    """The IngressClass ingress-nginx's install manifests create with the controller."""
    return IngressClass(controller.ingress_class, controller.controller_class, False,
                        SourceRef(file="<default>", kind="IngressClass",
                                  name=controller.ingress_class), synthesised=True)


def admit(ingresses: tuple[Ingress, ...], classes: tuple[IngressClass, ...]) -> list[Admitted]:
    """The DefaultIngressClass admission plugin (kubernetes plugin/pkg/admission/network/
    defaultingressclass): only an Ingress with neither class field nor annotation is defaulted."""
    defaults = [c for c in classes if c.default]
    out = []
    for ing in ingresses:
        if ing.class_name or LEGACY_ANNOTATION in ing.annotations:
            out.append(Admitted(ing, ing.class_name))
        elif len(defaults) == 1:
            out.append(Admitted(ing, defaults[0].name, defaulted=True))
        elif len(defaults) > 1:
            out.append(Admitted(ing, "", rejected=(
                f"{len(defaults)} IngressClasses are marked default "
                f"({', '.join(c.name for c in defaults)}): the API server refuses to create "
                "an Ingress without a class")))
        else:
            out.append(Admitted(ing, ""))
    return out


def decide(controller: Controller, adm: Admitted, classes: Mapping[str, IngressClass]) -> str:
    """Why ``controller`` ignores this Ingress, or "" when it takes it."""
    ing = adm.ingress
    if adm.rejected:
        return adm.rejected
    if controller.watch_namespace and ing.namespace != controller.watch_namespace:
        return f"outside --watch-namespace={controller.watch_namespace}"
    if adm.class_name:
        ic = classes.get(adm.class_name)
        via = " (the default class, set at creation)" if adm.defaulted else ""
        if ic is None:
            return f"spec.ingressClassName {adm.class_name!r}{via}: no such IngressClass"
        if ic.controller == controller.controller_class:
            return ""
        if controller.class_by_name and ic.name == controller.ingress_class:
            return ""
        return (f"IngressClass {ic.name}{via} is for controller {ic.controller!r}, not "
                f"{controller.controller_class!r}")
    if LEGACY_ANNOTATION in ing.annotations:
        value = ing.annotations[LEGACY_ANNOTATION]
        if value == controller.ingress_class:
            return ""
        return (f"annotation {LEGACY_ANNOTATION}: {value!r} is not this controller's "
                f"--ingress-class {controller.ingress_class!r}")
    if controller.watch_without_class:
        return ""
    return ("no IngressClass (no spec.ingressClassName, no kubernetes.io/ingress.class, no "
            "default class) and the controller lacks --watch-ingress-without-class")
