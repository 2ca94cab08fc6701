"""Pipelines are found whatever the import spelling, and step lists are followed however they are built."""

import textwrap

import pytest

from orderlint.engine import parse
from orderlint.extract.pipelines import label, pipelines_of


def pipeline_paths(source: str):
    """[(guards, [step names])] for the last pipeline of ``source``."""
    ctx = parse(textwrap.dedent(source))
    pipeline = pipelines_of(ctx)[-1]
    return [
        (tuple(dict.fromkeys(g for step in path for g in step.guard)), [step.name for step in path])
        for path in pipeline.paths
    ]


@pytest.mark.parametrize(
    "imports, normalize",
    [
        ("import torchvision.transforms as T", "T.Normalize"),
        ("from torchvision import transforms", "transforms.Normalize"),
        ("import torchvision", "torchvision.transforms.Normalize"),
        ("import torchvision.transforms", "torchvision.transforms.Normalize"),
        ("from torchvision.transforms import Normalize as N", "N"),
        ("from torchvision.transforms import *", "Normalize"),
        ("from torchvision.transforms.transforms import Normalize", "Normalize"),
        ("from torchvision.transforms import v2", "v2.Normalize"),
        ("import torchvision.transforms.v2 as T", "T.Normalize"),
    ],
)
def test_every_import_spelling_resolves_to_the_same_step(imports, normalize):
    source = f"""
    {imports}
    import torchvision.transforms as TT
    p = TT.Compose([{normalize}([0.5], [0.5]), TT.ToTensor()])
    """
    ((_, names),) = pipeline_paths(source)
    assert names == ["Normalize", "ToTensor"]


def test_unrelated_normalize_is_unknown():
    source = """
    import torchvision.transforms as T
    from mylib import Normalize
    p = T.Compose([Normalize(), T.ToTensor()])
    """
    assert pipeline_paths(source) == [((), ["<unknown>", "ToTensor"])]


def test_v1_and_v2_compose_are_both_pipelines():
    ctx = parse("from torchvision.transforms import v2\nimport torchvision.transforms as T\n"
                "a = T.Compose([T.ToTensor()])\nb = v2.Compose([v2.ToImage()])\n")
    assert [p.namespace for p in pipelines_of(ctx)] == ["v1", "v2"]


def test_list_built_with_append_insert_extend_and_plus():
    source = """
    import torchvision.transforms as T
    def build():
        base = [T.Resize(256)]
        t = base + [T.CenterCrop(224)]
        t.append(T.ToTensor())
        t.insert(0, T.Grayscale(3))
        t.extend([T.Normalize([0.5], [0.5])])
        t += [T.RandomErasing()]
        return T.Compose(t)
    """
    assert pipeline_paths(source) == [
        ((), ["Grayscale", "Resize", "CenterCrop", "ToTensor", "Normalize", "RandomErasing"])
    ]


def test_starred_lists_nested_compose_and_named_steps():
    source = """
    import torchvision.transforms as T
    AUG = [T.RandomHorizontalFlip(), T.ColorJitter(0.4)]
    normalize = T.Normalize([0.5], [0.5])
    inner = T.Compose([T.ToTensor(), normalize])
    p = T.Compose([*AUG, inner])
    """
    assert pipeline_paths(source) == [((), ["RandomHorizontalFlip", "ColorJitter", "ToTensor", "Normalize"])]


def test_branches_become_paths_with_their_conditions():
    source = """
    import torchvision.transforms as T
    def build(args):
        t = [T.ToTensor()]
        if args.normalize:
            t.append(T.Normalize([0.5], [0.5]))
        else:
            t.append(T.Grayscale())
        return T.Compose(t)
    """
    assert sorted(pipeline_paths(source)) == [
        (("args.normalize",), ["ToTensor", "Normalize"]),
        (("not args.normalize",), ["ToTensor", "Grayscale"]),
    ]


def test_compose_inside_a_branch_only_sees_that_branch():
    source = """
    import torchvision.transforms as T
    def build(train):
        t = [T.Resize(256)]
        if train:
            t.append(T.RandomCrop(224))
        else:
            t.append(T.CenterCrop(224))
            return T.Compose(t)
    """
    assert pipeline_paths(source) == [(("not train",), ["Resize", "CenterCrop"])]


def test_literal_loop_is_unrolled_and_unknown_loop_is_opaque():
    source = """
    import torchvision.transforms as T
    def build(sizes):
        t = []
        for _ in range(2):
            t.append(T.RandomHorizontalFlip())
        for s in sizes:
            t.append(T.Resize(s))
        t.append(T.ToTensor())
        return T.Compose(t)
    """
    assert pipeline_paths(source) == [((), ["<unknown>", "ToTensor"])]


def test_random_apply_holds_its_steps():
    ctx = parse("import torchvision.transforms as T\n"
                "p = T.Compose([T.RandomApply([T.ColorJitter(0.4)], p=0.8), T.ToTensor()])\n")
    (pipeline,) = pipelines_of(ctx)
    (path,) = pipeline.paths
    assert [s.name for s in path] == ["RandomApply", "ToTensor"]
    assert [[s.name for s in seq] for seq in path[0].inner] == [["ColorJitter"]]


def test_labels_are_the_callee_as_written():
    ctx = parse("from torchvision.transforms import Normalize as N, Compose, ToTensor\np = Compose([ToTensor(), N([0.5], [0.5])])\n")
    (pipeline,) = pipelines_of(ctx)
    assert [label(ctx, s) for s in pipeline.paths[0]] == ["ToTensor", "N"]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("val_transform", "eval"), ("transform_test", "eval"), ("TestTransform", "eval"), ("eval_tfms", "eval"),
        ("train_transform", "train"), ("trainval_transform", "train"), ("tta_transform", "train"),
        ("transform", None), ("retrieval_transform", None), ("train_test_split", None),
    ],
)
def test_pipeline_purpose_from_names(name, expected):
    from orderlint.extract.purpose import classify

    assert classify(name) == expected


def test_a_parameter_shadows_the_module_list_of_the_same_name():
    source = """
    import torchvision.transforms as T
    steps = [T.Normalize([0.5], [0.5]), T.ToTensor()]
    def build(steps):
        return T.Compose(steps)
    """
    assert pipeline_paths(source) == [((), ["<unknown>"])]
