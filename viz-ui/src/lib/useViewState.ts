// React binding of viewState.ts to the address bar: the state is read from
// the URL at load, every change is written back (a new history entry when
// the trace changes, a replaced one otherwise), and Back/Forward restore it.
import { useCallback, useEffect, useRef, useState } from 'react';
import { isNavigation, parseViewState, sameView, serializeViewState, type ViewState } from './viewState';

export type ViewUpdate = ViewState | ((v: ViewState) => ViewState);

export function useViewState(): [ViewState, (u: ViewUpdate) => void] {
  const [view, setViewState] = useState<ViewState>(() => parseViewState(location.search));
  const current = useRef(view);

  const setView = useCallback((u: ViewUpdate) => {
    const prev = current.current;
    const next = typeof u === 'function' ? u(prev) : u;
    if (sameView(prev, next)) return;
    current.current = next;
    const url = `${location.pathname}${serializeViewState(next, location.search)}${location.hash}`;
    if (isNavigation(prev, next)) history.pushState(null, '', url);
    else history.replaceState(null, '', url);
    setViewState(next);
  }, []);

  useEffect(() => {
    const onPop = () => {
      const v = parseViewState(location.search);
      current.current = v;
      setViewState(v);
    };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  return [view, setView];
}
