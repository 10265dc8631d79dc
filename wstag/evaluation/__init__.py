import warnings

# sed_scores_eval imports dcase_util, which imports the deprecated pkg_resources.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

