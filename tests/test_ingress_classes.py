"""Which ingress-nginx controller takes which Ingress (store.go ``GetIngressClass``, the
DefaultIngressClass admission plugin), and what a controller reads from its flags and
ConfigMap. Cases from test/e2e/settings/ingress_class.go are named after its tests."""

from __future__ import annotations

from helpers import cluster_of
from ingress_kit import (
    ECHO,
    controller,
    http,
    ingress,
    ingress_class,
    served,
    table,
    tables,
)

from podnet.ingress.controllers import DEFAULT_CONTROLLER_CLASS, find_controllers
from podnet.ingress.routes import build_all


def test_class_annotation_must_equal_ingress_class():
    # "should ignore Ingress with a different class annotation"
    t = table(controller(), ingress("other", "bar", cls=None, legacy_class="testclass"),
              ingress("mine", "foo", cls=None, legacy_class="nginx"))
    assert served(t, "foo") and not served(t, "bar")
    assert "'testclass' is not this controller's --ingress-class 'nginx'" in t.ignored[
        "default/other"]


def test_class_of_another_controller_is_ignored():
    # "should ignore Ingress with different controller class"
    t = table(controller(), ingress_class("custom", "k8s.io/other"),
              ingress("other", "bar", cls="custom"))
    assert not served(t, "bar")
    assert "is for controller 'k8s.io/other'" in t.ignored["default/other"]


def test_class_name_and_annotation_both_accepted():
    # "should accept both Ingresses with default IngressClassName and IngressClass annotation"
    t = table(controller(), ingress("a", "foo"), ingress("b", "bar", cls=None,
                                                          legacy_class="nginx"))
    assert served(t, "foo") and served(t, "bar")


def test_ingress_without_class_is_ignored_by_default():
    # "should ignore Ingress without IngressClass configuration"
    t = table(controller(), ingress("none", "bar", cls=None))
    assert not served(t, "bar")
    assert "--watch-ingress-without-class" in t.ignored["default/none"]


def test_specific_ingress_class_flags():
    # "With specific ingress-class flags": "should ignore Ingress with no class and accept the
    # correctly configured Ingresses"
    t = table(controller("--ingress-class=testclass", "--controller-class=k8s.io/other-class"),
              ingress_class("other", "k8s.io/other-class"),
              ingress("bar", "bar", cls=None),
              ingress("foo", "foo", cls=None, legacy_class="testclass"),
              ingress("foobar123", "foobar123", cls="other"))
    assert served(t, "foo") and served(t, "foobar123") and not served(t, "bar")
    assert http(t, "http://bar/").status == 404


def test_watch_ingress_without_class():
    # "With watch-ingress-without-class flag": "should watch Ingress with no class and ignore
    # ingress with a different class"
    t = table(controller("--watch-ingress-without-class=true"),
              ingress("none", "foo", cls=None),
              ingress("other", "bar", cls=None, legacy_class="other"))
    assert served(t, "foo") and not served(t, "bar")
    bare = table(controller("--watch-ingress-without-class"), ingress("none", "foo", cls=None))
    assert served(bare, "foo")


def test_ingress_class_by_name():
    # "With ingress-class-by-name flag": "should watch Ingress that uses the class name even if
    # spec is different"
    t = table(controller("--ingress-class=test-new-ingress-class", "--ingress-class-by-name"),
              ingress_class("test-new-ingress-class", "k8s.io/something-else"),
              ingress("validhostclassname", "validhostclassname", cls="test-new-ingress-class"),
              ingress("validhostclassspec", "validhostclassspec"),
              ingress("invalidannotation", "invalidannotation", cls=None,
                      legacy_class="testclass123"))
    assert served(t, "validhostclassname") and served(t, "validhostclassspec")
    assert not served(t, "invalidannotation")


def test_class_name_wins_over_the_annotation():
    t = table(controller(), ingress("both", "foo", legacy_class="other"))
    assert served(t, "foo")


def test_missing_ingress_class_object():
    t = table(controller(), ingress("ghost", "foo", cls="ghost"))
    assert t.ignored["default/ghost"] == "spec.ingressClassName 'ghost': no such IngressClass"


def test_default_class_is_given_at_creation():
    t = table(controller(), ingress_class("fancy", DEFAULT_CONTROLLER_CLASS, default=True),
              ingress("plain", "foo", cls=None))
    assert served(t, "foo")
    # two default classes: the API server refuses the Ingress (defaultingressclass plugin)
    t = table(controller(), ingress_class("a", DEFAULT_CONTROLLER_CLASS, default=True),
              ingress_class("b", DEFAULT_CONTROLLER_CLASS, default=True),
              ingress("plain", "foo", cls=None))
    assert not served(t, "foo")
    assert "2 IngressClasses are marked default" in t.ignored["default/plain"]
    # the legacy annotation, even with another value, keeps the default class away
    t = table(controller(), ingress_class("fancy", DEFAULT_CONTROLLER_CLASS, default=True),
              ingress("legacy", "foo", cls=None, legacy_class="other"))
    assert not served(t, "foo")


def test_two_controllers_split_the_ingresses():
    ts = tables(controller(), controller("--ingress-class=internal",
                                         "--controller-class=example.com/internal",
                                         name="internal", ns="internal"),
                ingress_class("internal", "example.com/internal"),
                ingress("public", "pub"), ingress("private", "priv", cls="internal"))
    by = {t.controller.key: t for t in ts}
    assert served(by["ingress-nginx/ingress-nginx-controller"], "pub")
    assert not served(by["ingress-nginx/ingress-nginx-controller"], "priv")
    assert served(by["internal/internal"], "priv") and not served(by["internal/internal"], "pub")


def test_watch_namespace():
    t = table(controller("--watch-namespace", "team"), ingress("a", "foo"))
    assert "outside --watch-namespace=team" in t.ignored["default/a"]


def test_stand_in_controller_only_when_ingresses_exist():
    assert find_controllers(cluster_of(ECHO)) == ()
    (c,) = find_controllers(cluster_of(ECHO + ingress("a")))
    assert not c.declared and c.key == "ingress-nginx/ingress-nginx-controller"
    (t,) = build_all(cluster_of(ECHO + ingress("a")), (c,))  # no IngressClass in the input
    assert served(t, "foo.bar") and any("IngressClass nginx" in n and "stands in" in n
                                        for n in t.notes)


def test_flags_and_configmap():
    (c,) = find_controllers(cluster_of(controller(
        "--annotations-prefix", "custom.io", "--configmap=$(POD_NAMESPACE)/cfg",
        config={"ssl-redirect": "false", "proxy-body-size": "8m", "http-redirect-code": "301",
                "use-forwarded-headers": "yes"}, name="cfg")))
    assert c.annotations_prefix == "custom.io" and c.configmap == "ingress-nginx/cfg"
    assert not c.config.ssl_redirect and c.config.proxy_body_size == "8m"
    assert c.config.http_redirect_code == 301
    assert not c.config.use_forwarded_headers
    assert any("use-forwarded-headers: 'yes' is not a boolean" in n for n in c.notes)


def test_invalid_redirect_code_and_missing_configmap():
    (c,) = find_controllers(cluster_of(controller("--configmap=ingress-nginx/cfg",
                                                  config={"http-redirect-code": "303"},
                                                  name="cfg")))
    assert c.config.http_redirect_code == 308
    (c,) = find_controllers(cluster_of(controller("--configmap=ingress-nginx/absent")))
    assert any("is not in the input" in n for n in c.notes)
