"""batch.size through a whole job: the job's batches are the source's, at most batch.size rows
each, whether the source or the job sets it."""

import pytest

from velostream.app import StreamApp


@pytest.mark.parametrize("setting", ["'t.batch.size' = '4'", "'max_batch_size' = '4'",
                                     "'t.batch_size' = '4'"])
def test_batch_size_sets_the_rows_per_batch_of_a_job(tmp_path, setting):
    path = tmp_path / "t.jsonl"
    path.write_text("".join(f'{{"a": {i}}}\n' for i in range(10)))
    sizes = []
    app = StreamApp(f"SELECT a FROM t WITH ('t.type' = 'file_source', 't.path' = '{path}', "
                    f"{setting})")
    app.on_output(lambda rows: sizes.append(len(rows)))
    metrics = app.run()
    assert sizes == [4, 4, 2] and metrics.batches == 3 and metrics.records_out == 10
