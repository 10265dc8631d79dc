"""Helpers shared by the feature cache tests."""

from wstag.audio.frontend import DEFAULT_FRONT_END


def cache_is_current(path, audio_ids, front_end=DEFAULT_FRONT_END) -> bool:
    """Whether the cache at ``path`` holds ``audio_ids`` with ``front_end``'s features (a test's question)."""
    import h5py

    from wstag.data.feature_cache import GROUP, feature_difference, stored_front_end

    if not path.is_file():
        return False
    with h5py.File(path, "r") as h5:
        return not feature_difference(stored_front_end(h5), front_end) and set(audio_ids) <= set(h5[GROUP].keys())
