"""YAML property files: extends, flattening, ${VAR} substitution, and errors naming file/key/line."""

import re

import pytest

from velostream.config import load_properties, substitute
from velostream.errors import ConfigError


def write(path, text):
    path.write_text(text)
    return str(path)


def test_extends_is_relative_to_the_file_and_the_child_wins(tmp_path):
    (tmp_path / "configs").mkdir()
    write(tmp_path / "configs" / "base.yml", "bootstrap.servers: base:9092\ncompression.type: snappy\n"
          "max_retries: 3\n")
    child = write(tmp_path / "configs" / "orders.yaml",
                  'extends: "base.yml"\ntopic: orders\nmax_retries: 5\n')
    assert load_properties(child, {}) == {
        "bootstrap.servers": "base:9092", "compression.type": "snappy", "max_retries": "5",
        "topic": "orders"}


def test_nested_mappings_flatten_and_override_dotted_keys(tmp_path):
    write(tmp_path / "base.yaml", "bootstrap:\n  servers: a:1\nssl:\n  key:\n    location: /k\n")
    child = write(tmp_path / "c.yaml", "extends: base.yaml\nbootstrap.servers: b:2\n")
    assert load_properties(child, {}) == {"bootstrap.servers": "b:2", "ssl.key.location": "/k"}


def test_null_in_the_child_removes_an_inherited_key(tmp_path):
    write(tmp_path / "base.yaml", "a: 1\nb: 2\n")
    child = write(tmp_path / "c.yaml", "extends: base.yaml\nb: null\n")
    assert load_properties(child, {}) == {"a": "1"}


def test_values_become_with_strings_and_lists_stay_lists(tmp_path):
    path = write(tmp_path / "c.yaml", "append: true\nbatch.size: 1000\nratio: 0.5\n"
                 "cols: [order_date, region]\nday: 2024-01-02\n")
    assert load_properties(path, {}) == {"append": "true", "batch.size": "1000", "ratio": "0.5",
                                         "cols": ["order_date", "region"], "day": "2024-01-02"}


def test_merge_keys_and_anchors(tmp_path):
    path = write(tmp_path / "c.yaml", "base: &b {x: 1, y: 2}\nprod:\n  <<: *b\n  y: 3\n")
    assert load_properties(path, {}) == {"base.x": "1", "base.y": "2", "prod.x": "1", "prod.y": "3"}


def test_several_parents_in_order(tmp_path):
    write(tmp_path / "a.yaml", "k: a\nonly_a: 1\n")
    write(tmp_path / "b.yaml", "k: b\n")
    child = write(tmp_path / "c.yaml", "extends: [a.yaml, b.yaml]\n")
    assert load_properties(child, {}) == {"k": "b", "only_a": "1"}


@pytest.mark.parametrize(("text", "env", "expected"), [
    ("${HOST}:9092", {"HOST": "h"}, "h:9092"),
    ("${HOST:-localhost}:${PORT:-9092}", {}, "localhost:9092"),
    ("${HOST:-localhost}", {"HOST": ""}, ""),
    ("orders-${ENVIRONMENT:-dev}-${VERSION}", {"VERSION": "7"}, "orders-dev-7"),
    ("literal $${HOST}", {"HOST": "h"}, "literal ${HOST}"),
    ("no variables $HOST", {"HOST": "h"}, "no variables $HOST"),
    ("${DATE}", {"DATE": "fixed"}, "fixed"),
])
def test_substitution(text, env, expected):
    assert substitute(text, env) == expected


def test_dynamic_date_and_time_when_not_in_the_environment():
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", substitute("${DATE}", {}))
    assert re.fullmatch(r"\d{6}", substitute("${TIME}", {}))


def test_unset_variable_names_the_key_the_file_and_the_line(tmp_path):
    path = write(tmp_path / "db.yaml", "table: customers\nconnection.username: \"${DB_USER}\"\n")
    with pytest.raises(ConfigError) as err:
        load_properties(path, {})
    text = str(err.value)
    assert f"{path}:2" in text
    assert "connection.username" in text
    assert "DB_USER is not set" in text


def test_variables_in_lists_and_in_extends(tmp_path):
    write(tmp_path / "prod_base.yaml", "brokers: prod:9092\n")
    child = write(tmp_path / "c.yaml", "extends: ${ENV:-dev}_base.yaml\ncols: [\"${A:-x}\", y]\n")
    assert load_properties(child, {"ENV": "prod"}) == {"brokers": "prod:9092", "cols": ["x", "y"]}


def test_cycle_is_an_error_listing_the_files(tmp_path):
    write(tmp_path / "a.yaml", "extends: b.yaml\n")
    write(tmp_path / "b.yaml", "extends: a.yaml\n")
    with pytest.raises(ConfigError, match=r"cycle: .*a\.yaml → .*b\.yaml → .*a\.yaml"):
        load_properties(str(tmp_path / "a.yaml"), {})


def test_missing_parent_names_the_extending_file_and_line(tmp_path):
    child = write(tmp_path / "c.yaml", "topic: t\nextends: nowhere.yaml\n")
    with pytest.raises(ConfigError) as err:
        load_properties(child, {})
    assert f"{child}:2: extends: extends 'nowhere.yaml'" in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_properties(str(tmp_path / "absent.yaml"), {})


def test_invalid_yaml_names_the_line(tmp_path):
    path = write(tmp_path / "bad.yaml", "a: 1\nb: [unclosed\nc: 3\n")
    with pytest.raises(ConfigError) as err:
        load_properties(path, {})
    assert re.search(rf"{re.escape(path)}:\d+: invalid YAML", str(err.value))


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n"])
def test_top_level_must_be_a_mapping(tmp_path, text):
    path = write(tmp_path / "c.yaml", text)
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_properties(path, {})


def test_empty_file_has_no_properties(tmp_path):
    assert load_properties(write(tmp_path / "c.yaml", "# nothing\n"), {}) == {}


def test_yaml_tags_that_build_objects_are_refused(tmp_path):
    path = write(tmp_path / "c.yaml", "a: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_properties(path, {})
